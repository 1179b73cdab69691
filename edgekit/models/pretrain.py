"""Pre-training on the server side, in eager PyTorch.

The front-end is fixed, so log-mel features are computed once; the backbone and head then train
on them with light augmentation (random time shift, one frequency mask).
"""

from __future__ import annotations

import copy
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from edgekit.atomic import atomic_write_bytes
from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel
from edgekit.audio.window import measure_window
from edgekit.data.corpus import ClipSet, Corpus
from edgekit.errors import ConfigError, DataError, FileFormatError
from edgekit.models import ARCHITECTURES, HeadConfig, KwsModel, build_model

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "TrainReport",
    "accuracy",
    "compute_logmel",
    "load_checkpoint",
    "pretrain",
    "pretrain_corpus",
    "recalibrate_batchnorm",
    "save_checkpoint",
]


@dataclass(frozen=True)
class PretrainConfig:
    """Eager training of backbone + head."""

    epochs: int = 30  # passes over the training clips, >= 1
    batch_size: int = 32  # clips per step, >= 1
    lr: float = 1e-2  # AdamW peak learning rate (cosine decay to 0), > 0
    weight_decay: float = 1e-4  # AdamW weight decay, >= 0
    time_shift_frames: int = 8  # augmentation: random roll of up to this many frames, >= 0
    freq_mask_bands: int = 4  # augmentation: one mask of up to this many mel bands, >= 0
    time_mask_frames: int = 10  # augmentation: one mask of up to this many frames, >= 0
    level_jitter_db: float = 10.0  # augmentation: per-clip level offset in [-x, x] dB, >= 0
    seed: int = 0  # initialisation, shuffling and augmentation

    def __post_init__(self) -> None:
        for name, value, low in (
            ("epochs", self.epochs, 1),
            ("batch_size", self.batch_size, 1),
            ("time_shift_frames", self.time_shift_frames, 0),
            ("freq_mask_bands", self.freq_mask_bands, 0),
            ("time_mask_frames", self.time_mask_frames, 0),
            ("level_jitter_db", self.level_jitter_db, 0),
        ):
            if value < low:
                raise ConfigError(f"PretrainConfig.{name} must be >= {low}, got {value}")
        if self.lr <= 0:
            raise ConfigError(f"PretrainConfig.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"PretrainConfig.weight_decay must be >= 0, got {self.weight_decay}")


@dataclass
class PretrainResult:
    model: KwsModel  # the weights of the epoch with the best validation accuracy
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    best_val_acc: float | None = None  # percent, None without a validation set


@torch.no_grad()
def compute_logmel(
    frontend: LogMel, audio: np.ndarray, batch_size: int = 256, progress: bool = False
) -> torch.Tensor:
    """``(N, samples)`` PCM -> ``(N, n_mels, frames)`` log-mel dB, in batches."""
    frontend.eval()
    out = [
        frontend(torch.from_numpy(audio[i : i + batch_size]))
        for i in tqdm(
            range(0, len(audio), batch_size), desc="log-mel", unit="batch", disable=not progress
        )
    ]
    if not out:
        return torch.zeros((0, frontend.config.n_mels, frontend.config.n_frames))
    return torch.cat(out)


def _augment(x: torch.Tensor, cfg: PretrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random time shift, per-clip level offset, one frequency mask and one time mask."""

    def draw(high: int) -> int:
        return int(torch.randint(0, high + 1, (1,), generator=gen))

    if cfg.time_shift_frames:
        x = torch.roll(x, shifts=draw(2 * cfg.time_shift_frames) - cfg.time_shift_frames, dims=2)
    if cfg.level_jitter_db:
        offset = (torch.rand(x.shape[0], 1, 1, generator=gen) * 2 - 1) * cfg.level_jitter_db
        x = x + offset
    x = x.clone()
    for dim, most in ((1, cfg.freq_mask_bands), (2, cfg.time_mask_frames)):
        if most:
            width = draw(most)
            start = draw(x.shape[dim] - width)
            x.narrow(dim, start, width).fill_(float(x.mean()))
    return x


@torch.no_grad()
def recalibrate_batchnorm(model: KwsModel, logmel: torch.Tensor, batch_size: int = 256) -> None:
    """Set every BatchNorm's running statistics to the exact mean/variance over ``logmel``.

    Running averages lag far behind the weights when there are few steps (small corpora), which
    makes eval-mode outputs wrong; one forward pass with a cumulative average fixes that.
    """
    norms = [
        m for m in model.backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the batches below
    model.train()
    for batch in logmel.split(batch_size):
        model.backbone(batch)
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    model.eval()


@torch.no_grad()
def accuracy(model: KwsModel, logmel: torch.Tensor, labels: torch.Tensor, n_classes: int) -> float:
    """Top-1 accuracy in percent over the first ``n_classes`` slots."""
    if len(labels) == 0:
        return float("nan")
    model.eval()
    logits = torch.cat([model.head(model.embed_logmel(b)) for b in logmel.split(256)])
    return float((logits[:, :n_classes].argmax(1) == labels).float().mean() * 100)


def pretrain(
    model: KwsModel,
    train: ClipSet,
    val: ClipSet | None = None,
    config: PretrainConfig | None = None,
    progress: bool = True,
) -> PretrainResult:
    """Train backbone and head on ``train``; keep the epoch with the best ``val`` accuracy."""
    cfg = config or PretrainConfig()
    n_classes = len(train.label_names)
    if n_classes > model.head.config.max_classes:
        raise ConfigError(
            f"the corpus has {n_classes} classes but the head has only "
            f"{model.head.config.max_classes} slots; raise HeadConfig.max_classes"
        )
    if len(train) == 0:
        raise DataError("the training set is empty: pass at least one labelled clip")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x_train = compute_logmel(model.frontend, train.audio, progress=progress)
    y_train = torch.from_numpy(train.labels)
    x_val = compute_logmel(model.frontend, val.audio) if val is not None and len(val) else None
    y_val = torch.from_numpy(val.labels) if val is not None else None
    params = [p for n, p in model.named_parameters() if not n.startswith("frontend.")]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * max(1, -(-len(train) // cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    result = PretrainResult(model=model)
    best_state: dict[str, Any] | None = None
    bar = tqdm(range(cfg.epochs), desc="pretrain", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for batch in order.split(cfg.batch_size):
            x = _augment(x_train[batch], cfg, gen)
            logits = model.head(model.embed_logmel(x))[:, :n_classes]
            loss = F.cross_entropy(logits, y_train[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(1) == y_train[batch]).sum())
            total += len(batch)
        if x_val is not None or epoch == cfg.epochs - 1:
            # eval-mode statistics are only read to score an epoch and at the end; training
            # itself uses each batch's own
            recalibrate_batchnorm(model, x_train)
        row = {"epoch": epoch + 1, "loss": loss_sum / total, "train_acc": 100 * correct / total}
        if x_val is not None and y_val is not None:
            row["val_acc"] = accuracy(model, x_val, y_val, n_classes)
            if result.best_val_acc is None or row["val_acc"] >= result.best_val_acc:
                result.best_val_acc = row["val_acc"]
                best_state = copy.deepcopy(model.state_dict())
        result.history.append(row)
        bar.set_postfix({k: round(v, 3) for k, v in row.items() if k != "epoch"})
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def save_checkpoint(
    model: KwsModel, path: Path | str, label_names: tuple[str, ...], **extra: Any
) -> None:
    """Write weights, architecture, front-end and labels atomically."""
    buffer = io.BytesIO()
    payload = {
        "model": model.describe(),
        "labels": list(label_names),
        "state_dict": model.state_dict(),
        "extra": extra,
    }
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path | str) -> tuple[KwsModel, tuple[str, ...], dict[str, Any]]:
    """``(model in eval mode, label names, extra)`` from :func:`save_checkpoint`'s file.

    Raises :class:`~edgekit.errors.FileFormatError` naming the file when it is missing or is not
    such a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path} not found: pass a checkpoint from `edgekit pretrain`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        desc = payload["model"]
        model = build_model(
            desc["arch"],
            FrontendConfig.from_dict(desc["frontend"]),
            HeadConfig(**desc["head"]),
            **desc.get("options", {}),
        )
        model.load_state_dict(payload["state_dict"])
        labels, extra = tuple(payload["labels"]), dict(payload["extra"])
    except (
        pickle.UnpicklingError,
        EOFError,
        OSError,
        RuntimeError,
        LookupError,
        TypeError,
        ValueError,
    ) as exc:  # what torch.load, a missing key or a bad description raise
        first = (str(exc).strip().splitlines() or [""])[0]
        if isinstance(exc, pickle.UnpicklingError):  # torch's message advises unsafe loading
            first = "not a torch checkpoint, or a damaged one"
        raise FileFormatError(
            f"{path} is not an edgekit checkpoint ({type(exc).__name__}: {first})"
        ) from exc
    return model.eval(), labels, extra


@dataclass
class TrainReport:
    """What :func:`pretrain_corpus` did, in numbers (accuracies in percent)."""

    arch: str
    label_names: tuple[str, ...]
    n_train: int
    n_validation: int
    n_test: int
    test_speakers: list[str]
    best_val_acc: float | None
    test_acc: float
    history: list[dict[str, float]]
    load_failures: list[str]  # "path: reason" for every clip that could not be used


def pretrain_corpus(
    corpus: Corpus,
    arch: str = "tcresnet",
    config: PretrainConfig | None = None,
    frontend: FrontendConfig | None = None,
    head: HeadConfig | None = None,
    progress: bool = True,
    options: dict[str, Any] | None = None,
) -> tuple[KwsModel, TrainReport]:
    """Train on the corpus' ``train`` split, select on ``validation``, report ``test`` accuracy.

    The splits of a Speech Commands folder are speaker-disjoint, so the test accuracy is on
    held-out speakers. ``options``: the architecture's size options (:func:`build_model`).
    """
    if arch not in ARCHITECTURES:  # before decoding the corpus, which takes a while
        raise ConfigError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    cfg = frontend or FrontendConfig()
    n_classes = len(corpus.labels)
    head = head or HeadConfig(max_classes=max(HeadConfig().max_classes, n_classes))
    # validation and test: one clip per recording; train: every window of the clip window
    clips = corpus.load(cfg, progress=progress, window=measure_window(cfg.clip_window))
    parts = {s: clips.take(clips.splits == s) for s in ("train", "validation", "test")}
    if cfg.clip_window == "all-windows":
        parts["train"] = corpus.subset(splits=["train"]).load(cfg, progress=progress)
    if len(parts["train"]) == 0:
        raise DataError(f"{corpus.root} has no clips in its train split")
    torch.manual_seed((config or PretrainConfig()).seed)  # the initial weights follow the seed
    model = build_model(arch, cfg, head, **(options or {}))
    result = pretrain(model, parts["train"], parts["validation"], config, progress=progress)
    test = parts["test"]
    test_acc = accuracy(
        model,
        compute_logmel(model.frontend, test.audio),
        torch.from_numpy(test.labels),
        n_classes,
    )
    report = TrainReport(
        arch=arch,
        label_names=corpus.labels,
        n_train=len(parts["train"]),
        n_validation=len(parts["validation"]),
        n_test=len(test),
        test_speakers=sorted(set(test.speakers.tolist())),
        best_val_acc=result.best_val_acc,
        test_acc=test_acc,
        history=result.history,
        load_failures=[f"{f.path}: {f.reason}" for f in clips.failures],
    )
    return model, report
