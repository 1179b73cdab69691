"""Training-step timing, eager PyTorch vs the runtime, for every trainable configuration the SDK
ships (``personalize.py``'s ``step_ratio_by_head``).

The list and the baseline are frozen here so that the ratios can be compared over time:

- ``SHIPPED``: each architecture's default model (``edgekit.models``) at each of its cuts, every
  layer above the cut trained whole: the head over pooled features, and the tail of the deeper
  cut (TC-ResNet's last skip convolution, Res8's last BatchNorm shift, DS-CNN's last pointwise
  convolution, each with the head above it);
- ``LINEAR_HEADS``: single-Linear heads (``HeadConfig(hidden=0)``) of a few widths;
- batches 32, 64 and 128 (``--quick``: 32), for ``train_step`` and ``distill_step``.

The runtime side is the SDK's own export of the plan (``edgekit.export.memory.lowered_training``)
with each of its training kernels (``TrainingPlan.kernels``: ``portable``, the default, and
``xnnpack``), run the way the ``Learner`` runs it (``JointMethod.step``: forward, backward,
clipping, SGD with momentum). Each kernel choice also reports its training memory (arena,
delegate memory and momentum, as the plan counts it). The eager baseline is the same tail module
(the same matmul layout, frozen weights as constants) in eager PyTorch: ``TrainStep``/
``DistillStep``, ``loss.backward()``, ``clip_grad_norm_``, ``torch.optim.SGD`` with the same
momentum. All on the same thread count (one by default), inputs drawn once per configuration and
batch.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgekit.device.joint import JointMethod
from edgekit.device.learner import Learner, LearnerConfig
from edgekit.device.mixing import split_batch
from edgekit.export.bundle import BUNDLE_FILES
from edgekit.export.memory import delegate_bytes, lowered_training
from edgekit.export.methods import DistillStep, TrainStep
from edgekit.export.stages import LoweredCache, assemble, planned_bytes
from edgekit.models import ARCHITECTURES, HeadConfig, KwsModel
from edgekit.models.tail import LayerTrain
from edgekit.plan.reports import TrainingMemory
from edgekit.plan.spec import KERNELS, TrainingPlan
from edgekit.runtime import Program, native_calls

SHIPPED = ("tcresnet", "resnet", "dscnn")  # every architecture, every cut
LINEAR_HEADS = ((64, 12), (256, 12), (64, 35))  # (features, classes), on TC-ResNet's backbone
METHODS = ("train_step", "distill_step")
TEMPERATURE = 2.0  # ExportConfig's default
BUDGET_S = 0.25  # seconds of steps per timed round (at least 3 steps)
QUICK_BUDGET_S = 0.1  # --quick's rounds


@dataclass(frozen=True)
class Config:
    """One trainable configuration: a model and the plan that trains everything above a cut."""

    name: str
    model: KwsModel
    cut: str

    def plan(self, batch: int, kernels: str = "portable") -> TrainingPlan:
        layers = {
            name: LayerTrain(rows=tuple(range(layer.n_out)) if layer.has_weight else (), bias=True)
            for name, layer in self.model.tail(self.cut).layers().items()
        }
        return TrainingPlan(
            self.model.arch, self.cut, batch, layers, scheme="manual", kernels=kernels
        )


def shipped_configs(quick: bool) -> list[Config]:
    """The frozen list (``--quick``: TC-ResNet's two cuts)."""
    configs = []
    for arch in SHIPPED[:1] if quick else SHIPPED:
        model = ARCHITECTURES[arch]().eval()
        configs += [Config(f"{arch}_{cut}", model, cut) for cut in model.cut_points()]
    for n_in, n_out in () if quick else LINEAR_HEADS:
        widths = (24, 36, 48, n_in)
        model = ARCHITECTURES["tcresnet"](widths=widths, head=HeadConfig(0, n_out)).eval()
        configs.append(Config(f"linear{n_in}x{n_out}", model, "pooled"))
    return configs


def _inputs(config: Config, method: str, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    parts = [
        torch.randn(batch, *shape, generator=gen)
        for _, shape in config.model.feature_parts(config.cut)
    ]
    slots = config.model.head.config.max_classes
    mask = torch.ones(slots)
    if method == "train_step":
        return (*parts, torch.randint(0, slots, (batch,), generator=gen), mask)
    soft = torch.softmax(torch.randn(batch, slots, generator=gen), dim=1)
    return (*parts, soft, mask)


def eager_step(
    config: Config,
    plan: TrainingPlan,
    method: str,
    inputs: tuple[torch.Tensor, ...],
    cfg: LearnerConfig,
) -> Callable[[], object]:
    """Forward + backward + clipping + SGD of the plan's tail in eager PyTorch (the baseline)."""
    tail = copy.deepcopy(plan.tail(config.model)).train()
    n = len(inputs) - 2
    module = TrainStep(tail, n) if method == "train_step" else DistillStep(tail, TEMPERATURE, n)
    params = [p for p in tail.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)

    def run() -> None:
        loss, _ = module(*inputs)
        opt.zero_grad()
        loss.backward()
        if cfg.clip_norm is not None:
            nn.utils.clip_grad_norm_(params, cfg.clip_norm)
        opt.step()

    return run


def runtime_step(
    program: Program, method: str, inputs: tuple[torch.Tensor, ...], cfg: LearnerConfig
) -> Callable[[], object]:
    """The same step in the runtime, as the Learner runs it."""
    joint = JointMethod(program.module, method, inputs)
    joint.set_optimizer(cfg.lr, cfg.momentum)
    return lambda: joint.step(inputs, cfg.clip_norm)


def compare(
    steps: tuple[Callable[[], object], ...], rounds: int, budget_s: float = BUDGET_S
) -> list[float]:
    """Microseconds per call of each step: the fastest of ``rounds`` interleaved rounds, each
    about ``budget_s`` long, after a warm-up."""
    iters = []
    for step in steps:
        start = time.perf_counter()
        step()
        step()
        one = max((time.perf_counter() - start) / 2, 1e-6)
        iters.append(max(3, int(budget_s / one)))
    best = [float("inf")] * len(steps)
    for _ in range(rounds):
        for k, step in enumerate(steps):
            start = time.perf_counter()
            for _ in range(iters[k]):
                step()
            best[k] = min(best[k], (time.perf_counter() - start) / iters[k])
    return [b * 1e6 for b in best]


def step_by_config(
    batches: tuple[int, ...], rounds: int, cfg: LearnerConfig, seed: int, quick: bool, say: Any
) -> dict[str, Any]:
    """``step_ratio_by_head`` (runtime / eager per step, the default portable kernels),
    ``step_ratio_by_head_xnnpack`` (the same with the XNNPACK kernels), the microseconds behind
    them keyed ``<config>_<method>_b<batch>``, and each plan's training bytes by kernels."""
    timings: dict[str, dict[str, float]] = {}
    memory: dict[str, dict[str, int]] = {}
    for config in shipped_configs(quick):
        for batch in batches:
            slots = config.model.head.config.max_classes
            programs = {}
            for kernels in KERNELS:
                plan = config.plan(batch, kernels)
                built = assemble(
                    lowered_training(config.model, plan, TEMPERATURE, slots, LoweredCache(1))
                )
                programs[kernels] = Program(bytes(built.buffer))
                params = plan.trainable_params(config.model)
                report = TrainingMemory.from_arenas(
                    planned_bytes(built),
                    params,
                    plan.momentum,
                    None,
                    delegate_bytes(built, config.model, plan, slots),
                )
                memory.setdefault(f"{config.name}_b{batch}", {})[kernels] = report.training_bytes
            for method in METHODS:
                inputs = _inputs(config, method, batch, seed)
                eager, portable, xnnpack = compare(
                    (
                        eager_step(config, config.plan(batch), method, inputs, cfg),
                        runtime_step(programs["portable"], method, inputs, cfg),
                        runtime_step(programs["xnnpack"], method, inputs, cfg),
                    ),
                    rounds,
                    QUICK_BUDGET_S if quick else BUDGET_S,
                )
                key = f"{config.name}_{method}_b{batch}"
                timings[key] = {
                    "eager_us": round(eager, 1),
                    "executorch_us": round(portable, 1),
                    "xnnpack_us": round(xnnpack, 1),
                }
                say(
                    f"    {key}: eager {eager:.0f} us, portable {portable:.0f} us "
                    f"({portable / eager:.2f}x), xnnpack {xnnpack:.0f} us ({xnnpack / eager:.2f}x)"
                )
    ratios = {k: round(v["executorch_us"] / v["eager_us"], 2) for k, v in timings.items()}
    xnn = {k: round(v["xnnpack_us"] / v["eager_us"], 2) for k, v in timings.items()}
    return {
        "step_ratio_by_head": ratios,
        "step_ratio_by_head_xnnpack": xnn,
        "step_us_by_head": timings,
        "step_ratio_worst": max(ratios.values()),
        "step_ratio_worst_xnnpack": max(xnn.values()),
        "training_bytes_by_kernels": memory,
    }


def _timed_epochs(
    learner: Learner, features: np.ndarray, targets: np.ndarray, epochs: int, rounds: int
) -> tuple[int, float]:
    """``(steps per epoch, microseconds per epoch of train_features)``, fastest of ``rounds``."""
    per_user, _ = split_batch(learner.manifest.train_batch, learner.config.mix_ratio, True)
    epoch_s = []
    for _ in range(rounds):
        start = time.perf_counter()
        learner.train_features(features, targets, epochs)
        epoch_s.append((time.perf_counter() - start) / epochs)
    return math.ceil(len(features) / per_user), min(epoch_s) * 1e6


def epoch_profile(
    learner: Learner, features: np.ndarray, targets: np.ndarray, epochs: int, rounds: int
) -> dict[str, float]:
    """Where a cached personalisation epoch's time goes (``train_features`` on ``features``,
    ``epochs`` at a time, fastest of ``rounds``), in microseconds: the epoch; per step, the
    runtime's own call (forward + backward of ``train_step``, inputs copied in) and the rest of
    ``JointMethod.step`` (the NaN check, clipping, the runtime's SGD), both timed back to back;
    and what the steps leave of the epoch: batch assembly (D0 draws, gathering rows, tensors),
    the loop, ``train_features``' setup, and runtime calls running slower between Python work
    than back to back. ``learner`` is trained: use a throwaway one."""
    cfg = learner.config
    mask = learner.class_mask
    batch = learner.manifest.train_batch
    steps, epoch_us = _timed_epochs(learner, features, targets, epochs, rounds)
    joint = learner.program.joint("train_step", mask)
    rows = np.resize(np.arange(len(learner.d0_labels)), batch)  # one batch of D0 rows
    x, y = learner.d0_features[rows], learner.d0_labels[rows].astype(np.int64)
    inputs = (*learner.program.parts(x), torch.from_numpy(y), mask)
    joint.set_optimizer(cfg.lr, cfg.momentum)
    module, method = joint.module, joint.method
    with native_calls():
        call_us, step_us = compare(
            (
                lambda: module.run_method(method, inputs, clone_outputs=False),
                lambda: joint.step(inputs, cfg.clip_norm),
            ),
            rounds,
        )
    return {
        "epoch_us": round(epoch_us, 1),
        "steps_per_epoch": steps,
        "runtime_call_us_per_step": round(call_us, 1),
        "check_clip_sgd_us_per_step": round(step_us - call_us, 1),
        "other_us_per_epoch": round(epoch_us - steps * step_us, 1),
    }


def fused_profile(
    learner: Learner,
    features: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    rounds: int,
    bundle: Path,
) -> dict[str, float]:
    """Where a cached epoch's time goes through ``train_steps`` (several steps a call), in
    microseconds: the epoch of a warm learner; per call, the runtime's own call (its inputs
    ready) and the rest of ``StepsMethod.call`` (the finiteness check), back to back; per
    epoch, the draws (``Pool.epoch``) and gathering the rows into every call's tensors; what
    these leave of the epoch (``train_features``' setup, calls running slower between Python
    work than back to back); and what a fresh learner's first call costs beyond a later one
    (the runtime loads the method then: ``load_us``, spread over ``epochs`` in the timed run).
    ``learner`` is trained: use a throwaway."""
    cfg, mask = learner.config, learner.class_mask
    method = learner.program.steps()
    if method is None:
        raise ValueError("the learner's bundle has no train_steps")
    steps, epoch_us = _timed_epochs(learner, features, targets, epochs, rounds)
    k, batch = method.steps, learner.manifest.train_batch
    mix = learner.config.mix_ratio
    pool = learner._pool(learner.slots.is_live())
    table = pool.table(features, targets)
    rng = np.random.default_rng(0)
    rows = pool.epochs(epochs, len(features), batch, mix, rng, None)
    theta = torch.cat([learner.weights[n].reshape(-1) for n, _ in method.trainable])
    velocity = torch.zeros_like(theta)
    hyper = torch.tensor([cfg.lr, cfg.momentum, cfg.clip_norm or math.inf])
    calls = method.gather(table, rows.reshape(-1, batch))
    first = calls.inputs(mask, hyper)[0]
    inputs = (theta, velocity, *first)
    module = method.module
    applied = np.ones(k, dtype=bool)
    with native_calls():
        call_us, full_us, draw_us, gather_us = compare(
            (
                lambda: module.run_method("train_steps", inputs),
                lambda: method.call(theta, velocity, first, applied),
                lambda: pool.epochs(epochs, len(features), batch, mix, rng, None),
                lambda: method.gather(table, rows.reshape(-1, batch)).inputs(mask, hyper),
            ),
            rounds,
        )
    load_us = _first_call_extra_us(bundle, inputs, rounds)
    calls_per_epoch = math.ceil(epochs * steps / k) / epochs
    per_epoch = {"draws": draw_us / epochs, "gather": gather_us / epochs}
    return {
        "epoch_us": round(epoch_us, 1),
        "steps_per_epoch": steps,
        "steps_per_call": k,
        "calls_per_epoch": round(calls_per_epoch, 3),
        "runtime_call_us": round(call_us, 1),
        "check_us_per_call": round(full_us - call_us, 1),
        "draws_us_per_epoch": round(per_epoch["draws"], 1),
        "gather_us_per_epoch": round(per_epoch["gather"], 1),
        "other_us_per_epoch": round(
            epoch_us - calls_per_epoch * full_us - sum(per_epoch.values()), 1
        ),
        "load_us": round(load_us, 1),
    }


def _first_call_extra_us(bundle: Path, inputs: tuple[torch.Tensor, ...], rounds: int) -> float:
    """A fresh program's first ``train_steps`` call minus its second (median of ``rounds``
    fresh programs): the method's load, which the runtime does on first use."""
    data = (bundle / BUNDLE_FILES["program"]).read_bytes()
    extra = []
    with native_calls():
        for _ in range(rounds):
            module = Program(data).module
            times = []
            for _ in range(2):
                start = time.perf_counter()
                module.run_method("train_steps", inputs)
                times.append(time.perf_counter() - start)
            extra.append((times[0] - times[1]) * 1e6)
    return float(np.median(extra))
