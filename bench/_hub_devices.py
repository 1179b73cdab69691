"""Simulated phones for ``hub_load.py``: each registers from its own loopback address, waits for
the others, then checks in, downloads its offer (the program cut part way and resumed),
posts one update and checks in again, over its own connection and without a single retry.

A :class:`Meter` counts the requests in flight around every request (their peak), keeps each
request's latency by endpoint, and counts every failure (an unexpected status, a transport error
or timeout, a bad download) by endpoint and status. A device stops at its first failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import ssl
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from edgekit.device.hub_update import pack_update
from edgekit.device.signed import verify_metadata
from edgekit.errors import UpdateRefused
from edgekit.export.bundle import BUNDLE_FILES

__all__ = ["Failure", "Meter", "Swarm", "device_address", "percentiles"]

CHECK_IN = {"app_version": "bench", "free_bytes": 8 << 30, "battery": 0.9, "wifi": True}
TIMEOUT = httpx.Timeout(120.0)  # a phone waits; a slower answer counts as an error
EXAMPLES = 20  # clips each update says it trained on
_SSL = ssl.create_default_context()  # unused (plain HTTP); shared so no client loads CA files


def device_address(i: int) -> str:
    """Device ``i``'s own source address on loopback (Linux routes all of 127/8 to ``lo``),
    away from 127.0.0.1 (the admin) and 127.0.1.1 (the host name)."""
    return f"127.10.{i // 250}.{i % 250 + 1}"


class Failure(Exception):
    """A request that did not answer as expected: ``where`` names its endpoint, ``what`` the
    status or the problem."""

    def __init__(self, where: str, what: str, detail: str = "") -> None:
        self.where, self.what = where, what
        super().__init__(f"{where}: {what}" + (f" ({detail})" if detail else ""))


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    p50, p99 = np.percentile(np.asarray(ms), [50, 99])
    return {"p50_ms": round(float(p50), 1), "p99_ms": round(float(p99), 1)}


@dataclass
class Meter:
    in_flight: int = 0
    peak: int = 0
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # the first message of each kind
    per_device: Counter[int] = field(default_factory=Counter)  # requests of each device

    @asynccontextmanager
    async def request(self, where: str, device: int) -> AsyncIterator[None]:
        """Around one request, its body read: in flight, timed, counted; a transport error or
        timeout becomes a Failure."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.per_device[device] += 1
        start = time.perf_counter()
        try:
            yield
        except httpx.HTTPError as exc:
            raise Failure(where, type(exc).__name__) from exc
        finally:
            self.in_flight -= 1
            self.ms[where].append((time.perf_counter() - start) * 1e3)

    def fail(self, failure: Failure) -> None:
        kind = f"{failure.where} {failure.what}"
        self.errors[kind] += 1
        cause = failure.__cause__
        self.examples.setdefault(kind, (str(cause) or repr(cause)) if cause else str(failure))

    def summary(self, endpoints: list[str], seconds: float) -> dict[str, Any]:
        """Counts, p50/p99 and requests/s over ``seconds`` of the given endpoints, per endpoint
        and together."""
        every = [x for e in endpoints for x in self.ms.get(e, [])]
        out: dict[str, Any] = {"requests": len(every), **percentiles(every)}
        out["requests_per_s"] = round(len(every) / seconds, 1) if seconds > 0 else 0.0
        out["per_endpoint"] = {
            e: {
                "requests": len(self.ms[e]),
                **percentiles(self.ms[e]),
                "requests_per_s": round(len(self.ms[e]) / seconds, 1) if seconds > 0 else 0.0,
            }
            for e in endpoints
            if self.ms.get(e)
        }
        return out


def _expect(reply: httpx.Response, where: str, status: int) -> None:
    if reply.status_code != status:
        try:
            detail = reply.text[:200]
        except httpx.ResponseNotRead:  # a streamed answer
            detail = ""
        raise Failure(where, str(reply.status_code), detail)


@dataclass
class Swarm:
    """``n`` devices against the hub at ``base`` (``family``/``architecture`` on ``stable``);
    ``public_key``: the hub's, pinned as a phone pins it."""

    base: str
    n: int
    family: str
    architecture: str
    public_key: bytes
    meter: Meter = field(default_factory=Meter)
    measured: tuple[float, float] = (0.0, 0.0)  # the start and end of the measured phase
    registered_s: float = 0.0  # how long registering every device took
    posted: int = 0  # updates answered 202
    versions_made: int = 0  # versions the hub published from them (a full buffer each)
    seed: int = 0

    def client(self, i: int) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=device_address(i), verify=_SSL)
        return httpx.AsyncClient(base_url=self.base, transport=transport, timeout=TIMEOUT)

    async def run(self) -> None:
        """Register every device; when all have, start them together (all their first requests
        are in flight before any answer is read); return when all are done."""
        start = time.perf_counter()
        tokens = await asyncio.gather(*(self._register(i) for i in range(self.n)))
        self.registered_s = time.perf_counter() - start
        start = time.perf_counter()
        await asyncio.gather(*(self._device(i, t) for i, t in enumerate(tokens) if t))
        self.measured = (start, time.perf_counter())

    async def _register(self, i: int) -> str | None:
        body = {"family": self.family, "architecture": self.architecture, "channel": "stable"}
        try:
            async with self.client(i) as client, self.meter.request("register", i):
                reply = await client.post("/v1/devices", json=body)
                _expect(reply, "register", 201)
                return str(reply.json()["token"])
        except Failure as failure:
            self.meter.fail(failure)
            return None

    async def _device(self, i: int, token: str) -> None:
        rng = np.random.default_rng((self.seed, i))
        try:
            async with self.client(i) as client:
                client.headers["Authorization"] = f"Bearer {token}"
                offer = await self._check_in(client, i, None)
                if offer is None or offer["wait"] is not None:
                    raise Failure("check-in", "no offer" if offer is None else offer["wait"])
                files = {f["path"]: await self._fetch(client, i, f, rng) for f in offer["files"]}
                metadata = await self._get(client, i, "metadata", offer["metadata"])
                try:
                    verify_metadata(metadata, bytes.fromhex(offer["signature"]), self.public_key)
                except UpdateRefused as exc:
                    raise Failure("metadata", exc.reason) from exc
                version = int(offer["number"])
                query, body = {"version": version, "examples": EXAMPLES}, _update(files, rng)
                async with self.meter.request("update", i):
                    reply = await client.post("/v1/devices/updates", params=query, content=body)
                    _expect(reply, "update", 202)
                    self.posted += 1
                    self.versions_made += reply.json()["new_version"] is not None
                await self._check_in(client, i, version)
        except Failure as failure:
            self.meter.fail(failure)

    async def _check_in(
        self, client: httpx.AsyncClient, i: int, version: int | None
    ) -> dict[str, Any] | None:
        async with self.meter.request("check-in", i):
            reply = await client.post(
                "/v1/devices/check-in", json={**CHECK_IN, "bundle_version": version}
            )
            _expect(reply, "check-in", 200)
            offer: dict[str, Any] | None = reply.json()["offer"]
            return offer

    async def _get(self, client: httpx.AsyncClient, i: int, where: str, url: str) -> bytes:
        async with self.meter.request(where, i):
            reply = await client.get(url)
            _expect(reply, where, 200)
            data = reply.content
        if hashlib.sha256(data).hexdigest() != url.rsplit("/", 1)[-1]:
            raise Failure(where, "sha256")
        return data

    async def _fetch(
        self, client: httpx.AsyncClient, i: int, entry: dict[str, Any], rng: np.random.Generator
    ) -> bytes:
        """One offered file; the program (the largest file) is cut after a random share and
        resumed with Range + If-Range, every file's sha256 checked either way."""
        if entry["path"] != BUNDLE_FILES["program"]:
            return await self._get(client, i, "blob", entry["url"])
        cut = int(entry["size"] * rng.uniform(0.2, 0.8))
        head = bytearray()
        async with self.meter.request("blob-cut", i), client.stream("GET", entry["url"]) as r:
            _expect(r, "blob-cut", 200)
            async for chunk in r.aiter_raw():
                head += chunk
                if len(head) >= cut:
                    break  # the connection drops here: the rest of the body is never read
        resume = {"Range": f"bytes={len(head)}-", "If-Range": f'"{entry["sha256"]}"'}
        async with self.meter.request("blob-resume", i):
            reply = await client.get(entry["url"], headers=resume)
            _expect(reply, "blob-resume", 206)
            data = bytes(head) + reply.content
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise Failure("blob-resume", "sha256")
        return data


def _update(files: dict[str, bytes], rng: np.random.Generator) -> bytes:
    """A valid update of the downloaded bundle: its trainable weights plus a little noise, the
    manifest's labels in their slots, and a softmax over those slots for each D0 clip."""
    manifest = json.loads(files["manifest.json"])
    with np.load(io.BytesIO(files["weights.npz"]), allow_pickle=False) as w:
        trained = {
            t["name"]: (w[t["name"]] + rng.normal(0, 1e-3, t["shape"])).astype(np.float32)
            for t in manifest["trainable"]
        }
    with np.load(io.BytesIO(files["d0.npz"]), allow_pickle=False) as d0:
        n_d0 = len(d0["labels"])
    labels, slots = list(manifest["labels"]), int(manifest["max_classes"])
    logits = rng.normal(size=(n_d0, len(labels)))
    live = np.exp(logits - logits.max(axis=1, keepdims=True))
    scores = np.zeros((n_d0, slots), dtype=np.float32)
    scores[:, : len(labels)] = live / live.sum(axis=1, keepdims=True)
    return pack_update(trained, labels + [""] * (slots - len(labels)), scores)
