"""The hub in a Flower federation: one node per architecture its phones run, so that phones and
SuperNodes learn together.

Run config: ``hub-url`` (e.g. ``http://127.0.0.1:8080``; empty: no hub), ``hub-token-file``
(the admin token's file), ``hub-family`` and ``hub-archs`` (comma-separated architectures of the
workspace that the hub's fleet runs). The workspace's clients are partitions 0..n-1; the hub
node of the j-th architecture is partition (and client id) n + j, so a simulation has n +
len(hub-archs) SuperNodes.

Every round the bridge of an architecture
1. publishes the weights the server sends (its group's average of the last round: the
   federation's result) on the hub as the next version, released where the current one is, and
   marks the phone updates it sent last round as applied (``POST /v1/admin/aggregates``);
2. fetches the hub's current aggregate: the current version with every pending phone update
   applied now, without waiting for the buffer to fill (``GET /v1/admin/aggregates``);
3. replies with it as a phone client of the federation does: the weights, the phone clips
   behind them, the bundle's labels, its softmax on D0 and its accuracy on the common test
   set, both through the bundle's ExecuTorch program.

After the last round the server sends each hub node the final weights (an ``evaluate``
message), which it publishes the same way. The hub's version must come from the workspace's
bundle of that architecture (the same trainable tensors); the hub refuses other weights.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.device import Learner
from edgekit.errors import ConfigError
from edgekit_server.errors import FlowerError
from edgekit_server.fl import run_config
from edgekit_server.fl.client import accuracy_on_test_set, d0_scores
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.workspace import ClientSpec, FederationSpec, Workspace

__all__ = ["HubBridge", "HubSettings", "hub_arch", "with_hubs"]

STATE_FILE = "hub_bridge.json"  # the phone updates sent in the last reply


@dataclass(frozen=True)
class HubSettings:
    """Which hub takes part, and for which architectures (run-config keys in ``RUN_CONFIG``)."""

    url: str = ""  # the hub's base URL; empty: no hub in the federation
    token_file: str = ""  # file holding the hub's admin token
    family: str = "kws"  # the hub's model family
    archs: str = ""  # comma-separated architectures of the workspace the hub's fleet runs
    timeout_s: float = 120.0  # per request to the hub, > 0

    RUN_CONFIG: ClassVar[dict[str, str]] = {
        "hub-url": "url",
        "hub-token-file": "token_file",
        "hub-family": "family",
        "hub-archs": "archs",
    }

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"run config 'hub-url' must be an http(s) URL, got {self.url!r}")
        if self.url and not (self.token_file and self.architectures):
            raise ConfigError("a hub in the federation needs 'hub-token-file' and 'hub-archs'")
        if self.timeout_s <= 0:
            raise ConfigError(f"HubSettings.timeout_s must be > 0, got {self.timeout_s}")

    @property
    def architectures(self) -> list[str]:
        return [a.strip() for a in self.archs.split(",") if a.strip()] if self.url else []

    @classmethod
    def from_run_config(cls, run: Mapping[str, Any]) -> HubSettings:
        return run_config.read(cls, run, cls.RUN_CONFIG)


def with_hubs(spec: FederationSpec, hubs: HubSettings) -> FederationSpec:
    """``spec`` with one client per hub architecture after its own (no clips of its own, the
    bundle's labels)."""
    unknown = sorted(set(hubs.architectures) - set(spec.archs))
    if unknown:
        raise ConfigError(f"hub-archs {unknown} are not architectures of the workspace")
    first = _first_hub_id(spec)
    added = [
        ClientSpec(first + j, arch, list(spec.old_labels), [], 0)
        for j, arch in enumerate(hubs.architectures)
    ]
    return replace(spec, clients=[*spec.clients, *added])


def _first_hub_id(spec: FederationSpec) -> int:
    """The id (partition) of the first hub node: the one after the workspace's clients."""
    return max((c.id for c in spec.clients), default=-1) + 1


def hub_arch(spec: FederationSpec, hubs: HubSettings, client_id: int) -> str | None:
    """The architecture whose hub node ``client_id`` is (None: a workspace client)."""
    j = client_id - _first_hub_id(spec)
    archs = hubs.architectures
    return archs[j] if 0 <= j < len(archs) else None


class HubBridge:
    """Hub node ``client_id`` of the federation, for architecture ``arch``."""

    def __init__(
        self, workspace: Workspace, client_id: int, arch: str, settings: HubSettings
    ) -> None:
        self.ws, self.id, self.arch, self.settings = workspace, client_id, arch, settings
        self.state = workspace.client_state(client_id)
        self.state.mkdir(parents=True, exist_ok=True)
        try:
            token = Path(settings.token_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"hub-token-file {settings.token_file!r}: {exc}") from exc
        self.http = httpx.Client(
            base_url=settings.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.timeout_s,
        )
        self.path = f"/v1/admin/aggregates/{settings.family}/{arch}"

    def close(self) -> None:
        self.http.close()

    def train(self, ins: Instruction) -> TrainResult:
        """One round: publish the federation's weights, reply with the hub's aggregate."""
        if ins.weights is not None:
            self.publish(ins.weights)
        reply = self._call("GET", self.path)
        with np.load(io.BytesIO(reply.content), allow_pickle=False) as data:
            weights = {k: data[k] for k in data.files}
        sent = [int(x) for x in reply.headers.get("X-Updates", "").split(",") if x]
        atomic_write_bytes(self.state / STATE_FILE, json.dumps({"updates": sent}).encode())
        learner = Learner(self.ws.bundle(self.arch), self.state / "learner")
        try:
            learner.set_trainable(weights)
            scores, per_label = d0_scores(learner, ins.registry)
            accuracy = accuracy_on_test_set(learner, self.ws, self.ws.spec().old_labels)
            labels = list(learner.live)
        finally:
            learner.close()
        return TrainResult(
            weights=weights,
            n_examples=max(1, int(reply.headers.get("X-Examples", "0"))),
            labels=labels,
            d0_scores=scores,
            d0_label_accuracy=per_label,
            accuracy=accuracy,
        )

    def publish(self, weights: Mapping[str, np.ndarray]) -> int | None:
        """Publish ``weights`` as the hub's next version (None: they are its current one)."""
        buffer = io.BytesIO()
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        reply = self._call(
            "POST", self.path, content=buffer.getvalue(), params={"updates": self._sent()}
        )
        number = reply.json()["number"]
        return None if number is None else int(number)

    def _sent(self) -> str:
        path = self.state / STATE_FILE
        if not path.exists():
            return ""
        updates: Sequence[int] = json.loads(path.read_text())["updates"]
        return ",".join(str(int(i)) for i in updates)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise FlowerError(f"the hub at {self.settings.url} cannot be reached: {exc}") from exc
        if not reply.is_success:
            status, detail = reply.status_code, reply.text[:300]
            raise FlowerError(f"the hub answered {method} {path} with {status}: {detail}")
        return reply
