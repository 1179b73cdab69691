"""A federation's workspace: the folder every process of a run reads and writes.

```
<root>/federation.json        the spec below (labels, bundles, clients)
<root>/bundles/<arch>/        one bundle per architecture (D0: the server's public clips)
<root>/models/<arch>.pt       the same model in eager PyTorch (clients synthesise impressions)
<root>/models/<arch>.public.npy  the server's public clips embedded by it (scales impressions)
<root>/clients/<id>/data.npz  a client's own clips (``pcm``) and their labels (``labels``)
<root>/clients/<id>/state/    a client's device state (as a phone keeps it)
<root>/test.npz               one common test set of every class
<root>/server/                the server's checkpoint and per-round results
```

On the Simulation Engine every process shares this folder; on the Deployment Engine each
SuperNode needs the bundle of its architecture and its own data at the same relative paths (the
hub would deliver bundles; data stays where it was recorded).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit_server.errors import WorkspaceError

__all__ = ["SPEC_FILE", "ClientSpec", "FederationSpec", "Workspace"]

SPEC_FILE = "federation.json"
# what reading a truncated, garbage or missing file raises (numpy, zipfile, torch, edgekit's
# readers), besides edgekit's own errors
DAMAGED = (OSError, EOFError, ValueError, LookupError, TypeError, BadZipFile)


@dataclass(frozen=True)
class ClientSpec:
    """One simulated phone."""

    id: int  # also its Flower partition id
    arch: str  # its model architecture (a key of FederationSpec.bundles)
    labels: list[str]  # the classes of its own data, old and new
    new_labels: list[str]  # its classes that the pretrained model never had (a subset)
    n_examples: int  # clips in its data file


@dataclass(frozen=True)
class FederationSpec:
    """Everything fixed about a federation; written once by the builder."""

    name: str  # e.g. "kws" or "urban"
    old_labels: list[str]  # the pretrained classes, in slot order of every bundle
    true_new_labels: list[str]  # the new classes (for evaluation only: the server never reads it)
    max_classes: int  # slots of every bundle's head
    archs: list[str]  # architectures, each with a bundle and an eager checkpoint
    clients: list[ClientSpec]
    test_clips_per_class: int
    extra: dict[str, Any] = field(default_factory=dict)  # builder facts (sizes, accuracies)

    def client(self, client_id: int) -> ClientSpec:
        for c in self.clients:
            if c.id == client_id:
                return c
        raise WorkspaceError(f"no client {client_id} in federation {self.name!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FederationSpec:
        clients = [ClientSpec(**c) for c in data.pop("clients")]
        return cls(clients=clients, **data)


class Workspace:
    """Paths of a federation's workspace, and its spec."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    @property
    def spec_path(self) -> Path:
        return self.root / SPEC_FILE

    def spec(self) -> FederationSpec:
        """The federation's spec; WorkspaceError if the folder holds no (readable) one."""
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"{self.root} is a file, not a federation workspace folder")
        try:
            return FederationSpec.from_dict(json.loads(self.spec_path.read_text()))
        except FileNotFoundError as exc:
            raise WorkspaceError(
                f"{self.root} is not a federation workspace ({SPEC_FILE} missing): build one "
                "with `edgekit-fl build`"
            ) from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise WorkspaceError(
                f"{self.spec_path} is not a readable federation spec ({exc})"
            ) from exc

    def check(self) -> FederationSpec:
        """The spec, once every file a run reads is there and readable: each bundle (its
        manifest's sha256 of every file), eager checkpoint and public embeddings, each client's
        data and the test set. WorkspaceError names the first damaged one: a run would
        otherwise fail inside Flower's processes."""
        from edgekit.errors import EdgekitError
        from edgekit.export.manifest import read_manifest
        from edgekit.models.pretrain import load_checkpoint

        spec = self.spec()
        path = self.spec_path
        try:
            for arch in spec.archs:
                path = self.bundle(arch)
                read_manifest(path)
                path = self.checkpoint(arch)
                load_checkpoint(path)
                path = self.public_features(arch)
                np.load(path, allow_pickle=False)
            for client in spec.clients:
                path = self.client_dir(client.id) / "data.npz"
                self.client_data(client.id)
            path = self.root / "test.npz"
            self.test_set()
        except (EdgekitError, *DAMAGED) as exc:
            raise WorkspaceError(
                f"{path} is damaged or missing ({exc}): build the workspace again "
                "(edgekit-fl build) in an empty folder"
            ) from exc
        return spec

    def write_spec(self, spec: FederationSpec) -> None:
        atomic_write_bytes(self.spec_path, spec.to_json().encode())

    def bundle(self, arch: str) -> Path:
        return self.root / "bundles" / arch

    def checkpoint(self, arch: str) -> Path:
        return self.root / "models" / f"{arch}.pt"

    def public_features(self, arch: str) -> Path:
        return self.root / "models" / f"{arch}.public.npy"

    def client_dir(self, client_id: int) -> Path:
        return self.root / "clients" / str(client_id)

    def client_data(self, client_id: int) -> tuple[np.ndarray, list[str]]:
        with np.load(self.client_dir(client_id) / "data.npz", allow_pickle=False) as data:
            return data["pcm"], [str(x) for x in data["labels"]]

    def client_state(self, client_id: int) -> Path:
        return self.client_dir(client_id) / "state"

    def test_set(self) -> tuple[np.ndarray, list[str]]:
        with np.load(self.root / "test.npz", allow_pickle=False) as data:
            return data["pcm"], [str(x) for x in data["labels"]]

    def test_labels(self) -> list[str]:
        """The labels of the common test set (without loading its clips)."""
        with np.load(self.root / "test.npz", allow_pickle=False) as data:
            return [str(x) for x in data["labels"]]

    @property
    def server_dir(self) -> Path:
        return self.root / "server"

    def reset_run(self) -> None:
        """Forget every client's device state and the server's checkpoint: a fresh run."""
        for client in (self.root / "clients").glob("*"):
            shutil.rmtree(client / "state", ignore_errors=True)
        shutil.rmtree(self.server_dir, ignore_errors=True)
