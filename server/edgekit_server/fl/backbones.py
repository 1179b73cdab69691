"""The server's side of a federation build, per architecture: pretrain one model on the public
clips of the old classes, save its checkpoint, export its bundle (D0: public clips), and keep the
public clips' features at the bundle's cut (the server standardises every architecture's
embeddings of data impressions by them).

A build runs one architecture per worker process (:func:`build_architecture`), each on one core.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from edgekit.atomic import atomic_write_bytes
from edgekit.data.corpus import ClipSet
from edgekit.export.bundle import ExportConfig, export_bundle, flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.models import HeadConfig, KwsModel, build_model
from edgekit.models.pretrain import PretrainConfig, compute_logmel, pretrain, save_checkpoint
from edgekit_server.fl.workspace import Workspace

if TYPE_CHECKING:
    from edgekit_server.fl.build import FederationConfig

__all__ = ["ArchitectureJob", "build_architecture", "pretrain_backbone", "slowest_first", "words"]

CHUNK = 256  # clips embedded at a time
HEAD_HIDDEN = 64  # hidden units of every bundle's MLP head
HEAD_EPOCHS = 60  # epochs of the old-class head on the frozen backbone's features


@dataclass(frozen=True)
class ArchitectureJob:
    """What one build worker needs (pickled to it)."""

    arch: str
    root: Path  # the workspace
    public: ClipSet  # the server's clips of the old classes, labelled by ``old``
    words: ClipSet | None  # the same clips labelled by the word said (keywords), or None
    old: Sequence[str]  # the old classes, in slot order
    config: FederationConfig


def build_architecture(job: ArchitectureJob) -> None:
    """Pretrain ``job.arch``, save its checkpoint, export its bundle, store its features of the
    public clips (float32 ``(n, D)``, in order, what its ``embed_logmel`` returns, flattened)."""
    torch.set_num_threads(1)
    ws, cfg = Workspace(job.root), job.config
    model = pretrain_backbone(job.arch, job.public, job.words, cfg)
    save_checkpoint(model, ws.checkpoint(job.arch), tuple(job.old))
    export = ExportConfig(d0_per_class=cfg.d0_per_class, seed=cfg.seed)
    export_bundle(model, job.old, ws.bundle(job.arch), job.public, export)
    cut = read_manifest(ws.bundle(job.arch)).cut
    chunks = (
        compute_logmel(model.frontend, job.public.audio[i : i + CHUNK])
        for i in range(0, len(job.public), CHUNK)
    )
    _save_features(model, cut, chunks, ws.public_features(job.arch))


def slowest_first(cfg: FederationConfig, pcm: np.ndarray) -> list[str]:
    """The architectures by the time a training step on ``pcm`` takes, slowest first.

    The workers take them in this order, so the longest pretraining starts at once and the others
    share the second core. The order does not change what is built."""
    costs = {}
    for arch in cfg.archs:
        model = build_model(
            arch, head=HeadConfig(hidden=HEAD_HIDDEN), **cfg.arch_options.get(arch, {})
        )
        logmel = compute_logmel(model.frontend, pcm)
        seconds = []
        for _ in range(2):  # the first step warms the kernels up
            started = time.perf_counter()
            model.head(model.embed_logmel(logmel)).sum().backward()
            seconds.append(time.perf_counter() - started)
        costs[arch] = seconds[-1]
    return sorted(cfg.archs, key=lambda arch: -costs[arch])


def words(clips: ClipSet) -> ClipSet | None:
    """The clips labelled by the word said (each ``_unknown_`` word its own class, named by its
    folder), or None for a corpus without words (urban sounds)."""
    if "_unknown_" not in clips.label_names:
        return None
    names = [clips.label_names[i] for i in clips.labels]
    said = [
        Path(p).parent.name if n == "_unknown_" else n
        for p, n in zip(clips.paths, names, strict=True)
    ]
    vocabulary = sorted(set(said))
    out = clips.take(np.arange(len(clips)))
    out.labels = np.array([vocabulary.index(w) for w in said], dtype=np.int64)
    out.label_names = tuple(vocabulary)
    return out


def pretrain_backbone(
    arch: str, clips: ClipSet, said: ClipSet | None, cfg: FederationConfig
) -> KwsModel:
    """Pretrain ``arch`` on the server's clips of old classes.

    With words (keywords), the backbone learns to tell every word apart, each unknown word its
    own class: features that separate words the server never labels help every client learn a
    new keyword later. The bundle's head is then trained for the old classes on that frozen
    backbone."""
    options = cfg.arch_options.get(arch, {})
    seed = cfg.seed if cfg.pretrain_seed is None else cfg.pretrain_seed
    torch.manual_seed(seed)
    train = PretrainConfig(epochs=cfg.pretrain_epochs, seed=seed)
    head = HeadConfig(hidden=HEAD_HIDDEN, max_classes=cfg.max_classes)
    if said is None:
        model = build_model(arch, head=head, **options)
        pretrain(model, clips, None, train, progress=False)
        return model
    wide = HeadConfig(hidden=HEAD_HIDDEN, max_classes=max(cfg.max_classes, len(said.label_names)))
    teacher = build_model(arch, head=wide, **options)
    pretrain(teacher, said, None, train, progress=False)
    model = build_model(arch, head=head, **options)
    model.backbone.load_state_dict(teacher.backbone.state_dict())
    _train_head(model, clips, seed)
    return model.eval()


def _train_head(model: KwsModel, clips: ClipSet, seed: int) -> None:
    """The head alone, on the frozen backbone's features (computed once)."""
    model.eval()
    with torch.no_grad():
        features = model.embed_logmel(compute_logmel(model.frontend, clips.audio))
    labels = torch.from_numpy(clips.labels)
    n_classes = len(clips.label_names)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.head.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(HEAD_EPOCHS):
        for batch in torch.randperm(len(labels), generator=gen).split(32):
            loss = F.cross_entropy(model.head(features[batch])[:, :n_classes], labels[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()


def _save_features(model: KwsModel, cut: str, chunks: Iterable[torch.Tensor], path: Path) -> None:
    """The features at ``cut`` of the log-mel batches in ``chunks``, flattened, float32
    ``(n, D)``, written atomically as ``.npy`` (folders made)."""
    model.eval()
    with torch.no_grad():
        parts = [flatten_parts(model.features_at(cut, logmel)) for logmel in chunks]
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, np.concatenate(parts).astype(np.float32))
    atomic_write_bytes(path, buffer.getvalue())
