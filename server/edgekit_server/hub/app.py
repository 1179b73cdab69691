"""The hub's HTTP API (FastAPI): admins publish and release signed bundle versions; devices
register, check in, and download what they are offered, resumably.

Admin calls carry ``Authorization: Bearer <admin token>``; a device's calls carry the token it
got at registration, which lets it read only the versions released to its own channel. Errors
are ``{"detail": ...}`` with a 4xx status that names the problem.

    PUT  /v1/admin/blobs/{sha256}      raw bytes of one bundle file (size-limited, hash-checked)
    POST /v1/admin/versions            {family, architecture, files: {path: sha256}, number?}
    POST /v1/admin/rollback            {family, architecture, to}
    POST /v1/admin/releases            {channel, family, architecture, number, percent}
    POST /v1/devices                   {family, architecture, channel} -> {device_id, token}
    POST /v1/devices/check-in          what the device reports -> {offer: ... | null}
    POST /v1/devices/updates?version=N&examples=M   its update (edgekit.device.hub_update) -> 202
    GET  /v1/admin/stats               updates by state, refused updates by reason
    GET  /v1/admin/aggregates/{family}/{architecture}    the weights as they would be published
                                       now (.npz; headers X-Based-On, X-Examples, X-Updates)
    POST /v1/admin/aggregates/{family}/{architecture}?updates=1,2   the federation's weights
                                       (.npz) -> the next version ({"number": N | null})
    GET  /dashboard                    the page (admin: bearer, or the cookie /dashboard/login?
                                       token=... sets)
    GET  /v1/blobs/{sha256}            a file or signed metadata (Range, If-Range, ETag, 304)
"""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# dependencies local to create_app
import hashlib
import hmac
import io
import logging
import math
import secrets
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from edgekit.device.state import DAMAGED_NPZ
from edgekit.errors import DataError
from edgekit_server.errors import BlobRejected, StorageConflict
from edgekit_server.hub.dashboard import render
from edgekit_server.hub.flushing import adopt, aggregate_now, maybe_flush
from edgekit_server.hub.limits import Limits, RateLimiter
from edgekit_server.hub.schema import Device
from edgekit_server.hub.service import BadBundle, Hub, RefusedUpdate
from edgekit_server.hub.storage import CheckIn
from edgekit_server.hub.updates import receive

__all__ = ["create_app"]

log = logging.getLogger("edgekit_server.hub")

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
_COOKIE = "edgekit_hub_admin"
INT32 = 2**31 - 1  # version numbers and counts fit every database's INTEGER
Number = Annotated[int, Field(ge=1, le=INT32)]
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
PathName = Annotated[str, PathParam(pattern=NAME_PATTERN)]


class VersionRequest(BaseModel):
    family: Name
    architecture: Name
    files: dict[str, str] = Field(min_length=1, max_length=64)
    number: Number | None = None


class RollbackRequest(BaseModel):
    family: Name
    architecture: Name
    to: Number


class ReleaseRequest(BaseModel):
    channel: Name
    family: Name
    architecture: Name
    number: Number
    percent: float = Field(ge=0, le=100)


class RegisterRequest(BaseModel):
    family: Name
    architecture: Name
    channel: Name = "stable"


class CheckInRequest(BaseModel):
    app_version: str | None = Field(default=None, max_length=64)
    bundle_version: Number | None = None
    free_bytes: int | None = Field(default=None, ge=0, le=2**63 - 1)
    battery: float | None = Field(default=None, ge=0, le=1)
    charging: bool | None = None
    wifi: bool | None = None
    accuracy: float | None = Field(default=None, ge=0, le=1)


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    return authorization.removeprefix("Bearer ").strip()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_app(hub: Hub, admin_token: str, limits: Limits | None = None) -> FastAPI:
    """The API over ``hub``; ``admin_token`` authorises publishing; ``limits`` rate-limit each
    device and each address that registers devices. No CORS headers: browsers on other origins
    cannot call it."""
    app = FastAPI(title="edgekit hub", version="1")
    admin_sha = _sha(admin_token)
    limits = limits or Limits()
    per_device = RateLimiter(limits.device_rate, limits.device_burst)
    per_address = RateLimiter(limits.register_rate, limits.register_burst)

    def limited(limiter: RateLimiter, key: str) -> None:
        wait = limiter.wait(key)
        if wait > 0:
            raise HTTPException(429, "too many requests", {"Retry-After": str(math.ceil(wait))})

    def check_admin(token: str) -> None:
        if not hmac.compare_digest(_sha(token), admin_sha):
            raise HTTPException(403, "not the admin token")

    def admin(authorization: Annotated[str | None, Header()] = None) -> None:
        check_admin(_bearer(authorization))

    def device(authorization: Annotated[str | None, Header()] = None) -> Device:
        found = hub.storage.device_for_token(_sha(_bearer(authorization)))
        if found is None:
            raise HTTPException(403, "unknown device token")
        limited(per_device, found.id)
        return found

    Admin = Annotated[None, Depends(admin)]
    Caller = Annotated[Device, Depends(device)]
    flushing = threading.Lock()  # one flush at a time: an update is never applied twice

    @app.put("/v1/admin/blobs/{sha256}", status_code=201)
    async def upload(sha256: str, request: Request, _: Admin) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > hub.blobs.max_bytes:
            raise HTTPException(413, f"over the {hub.blobs.max_bytes}-byte upload limit")
        chunks = [chunk async for chunk in _limited(request, hub.blobs.max_bytes)]
        try:
            blob = hub.blobs.put(chunks, expected_sha256=sha256)
        except BlobRejected as exc:
            raise HTTPException(413 if exc.reason == "too-large" else 400, str(exc)) from exc
        return {"sha256": blob.sha256, "size": blob.size}

    @app.post("/v1/admin/versions", status_code=201)
    def publish(body: VersionRequest, _: Admin) -> dict[str, Any]:
        try:
            v = hub.publish(body.family, body.architecture, body.files, body.number)
        except (BadBundle, BlobRejected) as exc:
            raise HTTPException(422, str(exc)) from exc
        except StorageConflict as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"number": v.number, "metadata_sha256": v.metadata_sha256}

    @app.post("/v1/admin/rollback", status_code=201)
    def rollback(body: RollbackRequest, _: Admin) -> dict[str, Any]:
        try:
            v = hub.rollback(body.family, body.architecture, body.to)
        except StorageConflict as exc:
            raise HTTPException(404, str(exc)) from exc
        return {"number": v.number, "metadata_sha256": v.metadata_sha256}

    @app.post("/v1/admin/releases")
    def release(body: ReleaseRequest, _: Admin) -> dict[str, Any]:
        try:
            hub.storage.release(
                body.channel, body.family, body.architecture, body.number, body.percent
            )
        except StorageConflict as exc:
            raise HTTPException(404, str(exc)) from exc
        return {"number": body.number, "percent": body.percent}

    @app.post("/v1/devices", status_code=201)
    def register(body: RegisterRequest, request: Request) -> dict[str, str]:
        limited(per_address, request.client.host if request.client else "unknown")
        device_id, token = secrets.token_hex(16), secrets.token_urlsafe(32)
        hub.storage.register(device_id, _sha(token), body.family, body.architecture, body.channel)
        return {"device_id": device_id, "token": token}

    @app.post("/v1/devices/check-in")
    def check_in(body: CheckInRequest, caller: Caller) -> dict[str, Any]:
        report = CheckIn(**body.model_dump())
        hub.storage.check_in(caller.id, report)
        offer = hub.offer(caller.channel, caller.family, caller.architecture, caller.id, report)
        if offer is None:
            return {"offer": None}
        v = offer.version
        return {
            "offer": {
                "number": v.number,
                "metadata": f"/v1/blobs/{v.metadata_sha256}",
                "signature": v.signature.hex(),
                "files": [
                    {"path": p, "sha256": sha, "size": size, "url": f"/v1/blobs/{sha}"}
                    for p, (sha, size) in sorted(v.files.items())
                ],
                "total_bytes": offer.total_bytes,
                "wait": offer.wait,
            }
        }

    @app.post("/v1/devices/updates", status_code=202)
    async def post_update(
        version: Annotated[int, Query(ge=-INT32, le=INT32)],  # out of range: refused and counted
        examples: Annotated[int, Query(ge=-INT32, le=INT32)],
        request: Request,
        caller: Caller,
    ) -> dict[str, Any]:
        body = b"".join([chunk async for chunk in _limited(request, hub.blobs.max_bytes)])
        return await run_in_threadpool(_accept, caller, version, examples, body)

    def _accept(caller: Device, version: int, examples: int, body: bytes) -> dict[str, Any]:
        try:
            update_id = receive(hub, caller, version, examples, body)
        except RefusedUpdate as exc:
            raise HTTPException(422, str(exc)) from exc
        try:  # the update is kept: a failed flush leaves it pending for the next one
            with flushing:
                made = maybe_flush(hub, caller.family, caller.architecture)
        except Exception:
            log.exception("aggregating %s/%s failed", caller.family, caller.architecture)
            made = None
        return {"update_id": update_id, "new_version": made}

    @app.get("/v1/admin/aggregates/{family}/{architecture}", response_model=None)
    def aggregate(family: PathName, architecture: PathName, _: Admin) -> Response:
        with flushing:
            found = aggregate_now(hub, family, architecture)
        if found is None:
            raise HTTPException(404, f"{family}/{architecture} has no published version")
        buffer = io.BytesIO()
        np.savez(buffer, **found.weights)  # type: ignore[arg-type]
        headers = {
            "X-Based-On": str(found.based_on),
            "X-Examples": str(found.examples),
            "X-Updates": ",".join(map(str, found.updates)),
        }
        return Response(buffer.getvalue(), media_type="application/octet-stream", headers=headers)

    @app.post("/v1/admin/aggregates/{family}/{architecture}", status_code=201)
    async def adopt_weights(
        family: PathName,
        architecture: PathName,
        request: Request,
        _: Admin,
        updates: Annotated[str, Query(max_length=100_000, pattern=r"^[0-9]*(,[0-9]+)*$")] = "",
    ) -> dict[str, Any]:
        body = b"".join([chunk async for chunk in _limited(request, hub.blobs.max_bytes)])
        ids = [int(x) for x in updates.split(",") if x]
        if any(i > INT32 for i in ids):
            raise HTTPException(422, "update ids are 32-bit")
        try:
            with np.load(io.BytesIO(body), allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files}
        except DAMAGED_NPZ as exc:
            raise HTTPException(422, f"not a readable .npz ({exc})") from exc
        return await run_in_threadpool(_adopt, family, architecture, weights, ids)

    def _adopt(
        family: str, architecture: str, weights: dict[str, np.ndarray], ids: list[int]
    ) -> dict[str, Any]:
        try:
            with flushing:
                made = adopt(hub, family, architecture, weights, ids)
        except DataError as exc:
            raise HTTPException(422, str(exc)) from exc
        if made is None and not hub.storage.numbers(family, architecture):
            raise HTTPException(404, f"{family}/{architecture} has no published version")
        return {"number": None if made is None else made.number}

    @app.get("/v1/admin/stats")
    def stats(_: Admin) -> dict[str, Any]:
        return hub.storage.counts()

    def admin_page(request: Request) -> None:
        check_admin(request.cookies.get(_COOKIE) or _bearer(request.headers.get("authorization")))

    @app.get("/dashboard/login")
    def dashboard_login(token: str) -> Response:
        check_admin(token)
        reply = RedirectResponse("/dashboard", status_code=303)
        reply.set_cookie(_COOKIE, token, httponly=True, samesite="strict", path="/dashboard")
        return reply

    @app.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> str:
        try:
            admin_page(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise HTTPException(401, "log in at /dashboard/login?token=<admin token>") from exc
            raise
        return render(hub.storage)

    @app.get("/v1/blobs/{sha256}", response_model=None)
    def download(
        sha256: str,
        caller: Caller,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        try:
            path = hub.blobs.path(sha256)
        except BlobRejected as exc:
            raise HTTPException(400, str(exc)) from exc
        if not hub.storage.released_blob(
            caller.channel, caller.family, caller.architecture, sha256
        ):
            raise HTTPException(404, "no such file for this device")
        etag = f'"{sha256}"'  # the content's hash: the same bytes everywhere, forever
        headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
        if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers=headers)
        return FileResponse(path, headers=headers, media_type="application/octet-stream")

    return app


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, stopped with 413 as soon as it passes ``limit`` bytes."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"over the {limit}-byte upload limit")
        yield chunk
