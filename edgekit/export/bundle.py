"""Export a model to a bundle: one ``.pte`` with five methods, the trainable weights, D0, manifest.

Stages (each a small function): wrap -> ``torch.export`` (+ joint forward/backward for the
training methods) -> edge, XNNPACK for ``embed`` / ``embed_logmel`` -> ``.pte`` -> D0 features
computed by the program's own ``embed`` -> manifest with hashes. With ``ExportConfig.quantize``
the frozen part below the cut is int8 (:mod:`edgekit.export.quantize`, calibrated on D0).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from edgekit.atomic import atomic_write_bytes
from edgekit.data.corpus import ClipSet, Corpus
from edgekit.data.d0 import select_d0
from edgekit.errors import ConfigError, ExportError
from edgekit.export.detection import DetectConfig
from edgekit.export.manifest import BUNDLE_FILES, Manifest, sha256_file
from edgekit.export.memory import delegate_bytes, lowered_training
from edgekit.export.methods import Classify
from edgekit.export.quantize import calibration_key, check_delegated, int8_embeds
from edgekit.export.stages import LoweredCache, assemble, batch_dim, export_method, planned_bytes
from edgekit.models import KwsModel
from edgekit.models.tail import POOLED
from edgekit.plan.cache import cache_report
from edgekit.plan.reports import BundleMemory, TrainingMemory
from edgekit.plan.spec import KERNELS, TrainingPlan, check_steps_per_call
from edgekit.runtime import Program

__all__ = [
    "BUNDLE_FILES",
    "ExportConfig",
    "backbone_hash",
    "export_bundle",
    "flatten_parts",
]


@dataclass(frozen=True)
class ExportConfig:
    """How a bundle is exported."""

    train_batch: int = 32  # batch of train_step / distill_step when no plan is given, >= 1
    max_batch: int = 64  # bound of the dynamic batch of embed / embed_logmel / classify, >= 2
    temperature: float = 2.0  # distillation temperature of distill_step, > 0
    d0_per_class: int = 20  # clips per class in the global set D0, >= 1
    seed: int = 0  # which clips D0 takes
    # how the app listens continuously (the manifest's detection; batch lowered to max_batch)
    detection: DetectConfig = field(default_factory=DetectConfig)
    # int8 frozen backbone below the cut (PT2E + XNNPACK, calibrated on D0) in embed and
    # embed_logmel; the front-end, the features they return and the training methods stay float32
    quantize: bool = False
    # what runs train_step / distill_step when no plan is given (a plan carries its own):
    # "portable" or "xnnpack" (edgekit.export.training_kernels; faster, more memory)
    training_kernels: str = "portable"
    # SGD steps per call of train_steps (edgekit.export.multi_step) when no plan is given; 1:
    # the program has no train_steps, and a device steps through train_step
    steps_per_call: int = 1

    def __post_init__(self) -> None:
        if self.train_batch < 1:
            raise ConfigError(f"ExportConfig.train_batch must be >= 1, got {self.train_batch}")
        if self.max_batch < 2:
            raise ConfigError(f"ExportConfig.max_batch must be >= 2, got {self.max_batch}")
        if self.temperature <= 0:
            raise ConfigError(f"ExportConfig.temperature must be > 0, got {self.temperature}")
        if self.d0_per_class < 1:
            raise ConfigError(f"ExportConfig.d0_per_class must be >= 1, got {self.d0_per_class}")
        if not isinstance(self.quantize, bool):
            raise ConfigError(f"ExportConfig.quantize must be True or False, got {self.quantize!r}")
        if self.training_kernels not in KERNELS:
            raise ConfigError(
                f"ExportConfig.training_kernels must be one of {KERNELS}, "
                f"got {self.training_kernels!r}"
            )
        check_steps_per_call(self.steps_per_call, "ExportConfig.steps_per_call")


class _Embed(nn.Module):
    """``pcm -> parts``: the front-end and everything below the plan's cut."""

    def __init__(self, model: KwsModel, cut: str) -> None:
        super().__init__()
        self.model = model
        self.cut = cut

    def forward(self, pcm: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.features_at(self.cut, self.model.frontend(pcm))


class _EmbedLogmel(_Embed):
    """``logmel -> parts``: the same without the front-end (for data impressions)."""

    def forward(self, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.features_at(self.cut, logmel)


def backbone_hash(model: KwsModel, cut: str = POOLED, quantization: str | None = None) -> str:
    """sha256 of the front-end configuration, the cut and every frozen tensor: the cache key.

    ``quantization`` (:func:`~edgekit.export.quantize.calibration_key`) for an int8 backbone,
    whose features differ from the float32 one's: its caches must not be shared.
    """
    digest = hashlib.sha256(json.dumps(model.frontend.config.to_dict(), sort_keys=True).encode())
    digest.update(model.arch.encode())
    digest.update(f"cut={cut}".encode())
    if quantization is not None:
        digest.update(f"int8={quantization}".encode())
    for name, tensor in sorted(model.backbone.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


class _Stages:
    """One status line on stderr over the export's stages: which one runs, time so far."""

    COUNT = 8  # the stage() calls of _program (4) and _write_bundle (4)

    def __init__(self, progress: bool) -> None:
        # stages take from milliseconds to a minute: no rate, no ETA
        self.bar = tqdm(
            total=self.COUNT, desc="export", disable=not progress, bar_format="{desc} [{elapsed}]"
        )
        self.started = 0

    def __call__(self, name: str) -> None:
        """Stage ``name`` starts: the one before it is done."""
        if self.started:
            self.bar.update(1)
        self.started += 1
        self.bar.set_description_str(f"export, stage {self.started}/{self.COUNT}: {name}")

    def done(self) -> None:
        """The last stage is done."""
        self.bar.update(1)
        self.bar.set_description_str("export: done")


def _no_stage(name: str) -> None:
    """A stage callback that reports nothing."""


def _program(
    model: KwsModel,
    plan: TrainingPlan,
    cfg: ExportConfig,
    cache: LoweredCache,
    stage: Callable[[str], None] = _no_stage,
    calibration: np.ndarray | None = None,
) -> Any:
    """The bundle's five methods in one program, each group lowered through ``cache``;
    ``stage`` is told when each group (then the assembly) starts. ``calibration`` (the D0 clips)
    when ``cfg.quantize``."""
    fe = model.frontend.config
    digest = model.digest()
    slots = model.head.config.max_classes

    def embeds() -> dict[str, Any]:
        if calibration is not None:
            return int8_embeds(model, _EmbedLogmel(model, plan.cut), calibration, cfg.max_batch)
        return {
            "embed": export_method(
                _Embed(model, plan.cut), (torch.zeros(2, fe.clip_samples),), cfg.max_batch
            ),
            "embed_logmel": export_method(
                _EmbedLogmel(model, plan.cut),
                (torch.zeros(2, fe.n_mels, fe.n_frames),),
                cfg.max_batch,
            ),
        }

    def classify() -> dict[str, Any]:
        tail = plan.tail(model)
        names = [n for n, _ in tail.named_parameters()]
        weights = [p.detach().clone() for p in tail.parameters()]
        parts = [torch.zeros(2, *shape) for _, shape in model.feature_parts(plan.cut)]
        b = batch_dim(cfg.max_batch)
        # one entry: forward(*inputs) takes its inputs as a single varargs parameter
        dynamic = ((*({0: b} for _ in parts), None, *(None for _ in weights)),)
        example = (*parts, torch.ones(slots), *weights)
        return {
            "classify": export_method(Classify(tail, names, len(parts)), example, None, dynamic)
        }

    int8 = None if calibration is None else calibration_key(calibration)
    stage(f"lowering embed, embed_logmel (XNNPACK{', int8' if int8 else ''})")
    embed = cache.get(("embed", digest, plan.cut, cfg.max_batch, int8), embeds, xnnpack=True)
    if int8:
        check_delegated(embed)
    steps = f", train_steps x{plan.steps_per_call}" if plan.steps_per_call > 1 else ""
    stage(f"lowering train_step, distill_step{steps} ({plan.kernels} kernels)")
    training = lowered_training(model, plan, cfg.temperature, slots, cache)
    stage("lowering classify")
    head = cache.get(("classify", digest, plan.key(), cfg.max_batch), classify)
    stage("assembling the program")
    return assemble(embed, training, head)


def _runnable_batch(runtime: Program, inputs: dict[str, tuple[int, ...]], limit: int) -> int:
    """The largest batch <= ``limit`` that every batched method accepts in the runtime.

    XNNPACK-lowered convolutional methods may plan their inputs for fewer rows than the exported
    dynamic range (seen in executorch 1.5.1: a [1, 64] range ran only up to 15), so the real
    capacity is measured on the program and written to the manifest.
    """

    def runs(batch: int) -> bool:
        try:  # a refused resize is logged by the runtime: Program.run silences its logs
            for method, shape in inputs.items():
                runtime.run(method, torch.zeros(batch, *shape))
        except RuntimeError:
            return False
        return True

    low, high = 1, limit
    if not runs(low):
        raise ExportError("the exported program does not run a batch of one clip")
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if runs(mid) else (low, mid - 1)
    return low


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def export_bundle(
    model: KwsModel,
    labels: Sequence[str],
    out: Path | str,
    d0: ClipSet | Corpus,
    config: ExportConfig | None = None,
    extra: dict[str, Any] | None = None,
    plan: TrainingPlan | None = None,
    lowered: LoweredCache | None = None,
    progress: bool = False,
) -> Manifest:
    """Write a bundle folder for ``model`` whose live classes are ``labels`` (slot order).

    ``d0`` holds labelled clips (indices into ``labels``) from which the global set is drawn; a
    :class:`Corpus` contributes its ``train`` split. ``plan`` says where the cut sits and what
    trains (default: the whole head over pooled features at ``config.train_batch``); the training
    memory in the manifest is read from the written program and must fit the plan's budget.
    ``lowered`` reuses methods lowered before (by the planner, or for an earlier bundle of the
    same model and cut). ``progress`` shows a bar over the export's stages on stderr.
    """
    cfg = config or ExportConfig()
    if isinstance(d0, Corpus):
        if list(d0.labels) != list(labels):
            raise ExportError(f"the D0 corpus has classes {d0.labels}, the bundle {list(labels)}")
        d0 = d0.subset(splits=["train"]).load(progress=False)
    out = Path(out)
    model = model.eval()
    plan = plan or TrainingPlan.head(
        model, cfg.train_batch, kernels=cfg.training_kernels, steps_per_call=cfg.steps_per_call
    )
    slots = model.head.config.max_classes
    if len(labels) > slots:
        raise ExportError(f"{len(labels)} labels but the head has {slots} slots")
    unknown = [k for k in cfg.detection.keywords or () if k not in labels]
    if unknown:
        raise ExportError(f"detection keywords {unknown} are not labels of the bundle {labels}")
    if len(d0) == 0:
        raise ExportError("D0 is empty: pass labelled clips to draw the global set from")
    stages = _Stages(progress)
    try:
        manifest = _write_bundle(model, labels, out, d0, cfg, extra, plan, lowered, stages)
        stages.done()
    finally:
        stages.bar.close()
    return manifest


def _write_bundle(
    model: KwsModel,
    labels: Sequence[str],
    out: Path,
    d0: ClipSet,
    cfg: ExportConfig,
    extra: dict[str, Any] | None,
    plan: TrainingPlan,
    lowered: LoweredCache | None,
    stage: Callable[[str], None],
) -> Manifest:
    """:func:`export_bundle` once its inputs are checked; ``stage`` is told each stage."""
    slots = model.head.config.max_classes
    globalset = select_d0(d0, cfg.d0_per_class, cfg.seed)
    calibration = globalset.audio if cfg.quantize else None
    cache = lowered if lowered is not None else LoweredCache(max_entries=3)
    program = _program(model, plan, cfg, cache, stage, calibration)
    stage("writing the program and weights")
    out.mkdir(parents=True, exist_ok=True)
    pte = bytes(program.buffer)
    atomic_write_bytes(out / BUNDLE_FILES["program"], pte)

    tail = plan.tail(model)
    names = [n for n, _ in tail.named_parameters()]
    weights = {n: p.detach().numpy().copy() for n, p in tail.named_parameters()}
    _save_npz(out / BUNDLE_FILES["weights"], weights)
    stage("measuring the largest batch the program runs")
    runtime = Program(pte)
    fe = model.frontend.config
    max_batch = _runnable_batch(
        runtime,
        {"embed": (fe.clip_samples,), "embed_logmel": (fe.n_mels, fe.n_frames)},
        cfg.max_batch,
    )
    stage(f"computing the features of D0 ({len(globalset)} clips)")
    features = np.concatenate(
        [
            flatten_parts(
                runtime.run("embed", torch.from_numpy(globalset.audio[i : i + max_batch]))
            )
            for i in range(0, len(globalset), max_batch)
        ]
    )
    _save_npz(out / BUNDLE_FILES["d0"], {"features": features, "labels": globalset.labels})
    stage("writing the manifest")

    planned = planned_bytes(program)
    params = sum(int(w.size) for w in weights.values())
    delegate = delegate_bytes(program, model, plan, slots)
    training = TrainingMemory.from_arenas(
        planned, params, plan.momentum, plan.budget_bytes, delegate
    )
    if not training.within_budget:
        fewer = f" (or fewer than {plan.steps_per_call} steps per call)"
        raise ExportError(
            f"the exported training methods need {training.training_bytes} bytes, over the "
            f"plan's budget of {plan.budget_bytes}: plan again for this model"
            f"{fewer if plan.steps_per_call > 1 else ''}"
        )
    plan = plan.with_memory(training)
    parts = model.feature_parts(plan.cut)
    manifest = Manifest(
        labels=list(labels),
        max_classes=slots,
        arch=model.arch,
        frontend=model.frontend.config.to_dict(),
        clip_samples=model.frontend.config.clip_samples,
        cut=plan.cut,
        feature_parts=[{"name": n, "shape": list(shape)} for n, shape in parts],
        trainable=[_trainable_entry(n, weights[n], plan) for n in names],
        train_batch=plan.batch,
        max_batch=max_batch,
        temperature=cfg.temperature,
        backbone_hash=backbone_hash(
            model, plan.cut, None if calibration is None else calibration_key(calibration)
        ),
        memory=BundleMemory(
            planned_bytes={k: v for k, v in planned.items() if not k.startswith("__")},
            training=training,
            cache=cache_report(model, plan.cut, len(globalset), plan.cache_budget_bytes),
            program_bytes=len(pte),
        ),
        plan=plan.to_dict(),
        detection=replace(cfg.detection, batch=min(cfg.detection.batch, max_batch)).to_dict(),
        quantized=cfg.quantize,
        files={name: sha256_file(out / name) for name in BUNDLE_FILES.values()},
        extra=dict(extra or {}),
    )
    manifest.write(out)
    return manifest


def _trainable_entry(name: str, array: np.ndarray, plan: TrainingPlan) -> dict[str, Any]:
    """A trainable tensor's name and shape, and where it sits in its layer: ``rows`` are the
    output rows of the layer's weight that ``rows_t`` (transposed, ``(in, rows)``) holds."""
    layer, kind = name.rsplit(".", 1)
    rows = list(plan.layers[layer].rows) if kind == "rows_t" else None
    return {"name": name, "shape": list(array.shape), "layer": layer, "kind": kind, "rows": rows}


def flatten_parts(parts: Sequence[torch.Tensor]) -> np.ndarray:
    """``embed`` outputs ``[(n, *shape), ...]`` -> one ``(n, features)`` float32 array."""
    return np.concatenate([p.reshape(p.shape[0], -1).numpy() for p in parts], axis=1)
