"""The device side: a bundle run only through the ExecuTorch runtime.

``Learner(bundle)`` verifies the bundle, embeds clips once into a persistent feature cache, trains
the part above the cut with the program's ``train_step`` (SGD in the runtime) mixing D0 into every
batch, enrols new classes into reserved slots, and saves its state atomically.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgekit._quiet import quiet_loggers
from edgekit.device.cache import FeatureCache
from edgekit.device.federated import GlobalSetMixin, NoFreeSlot
from edgekit.device.joint import JointMethod
from edgekit.device.mixing import filling_weights, mixed_batches, split_batch
from edgekit.device.state import LearnerState, read_state, write_state
from edgekit.errors import ConfigError, CorruptBundle, DataError, FileFormatError
from edgekit.export.bundle import BUNDLE_FILES, flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.plan.reports import BundleMemory
from edgekit.plan.spec import TrainingPlan

__all__ = ["Learner", "LearnerConfig", "NoFreeSlot"]

STATE_FILE = "learner_state.npz"


@dataclass(frozen=True)
class LearnerConfig:
    """On-device training settings."""

    lr: float = 0.05  # SGD learning rate, > 0
    momentum: float = 0.9  # SGD momentum in [0, 1); its buffers live outside the planned arena
    clip_norm: float | None = 1.0  # global gradient-norm clip per step, > 0; None: no clipping
    mix_ratio: float = 0.5  # share of every batch drawn from D0, in [0, 1)
    cache_bytes: int = 32 << 20  # feature cache bound on disk, >= 0
    replay_clips: int = 1024  # user clips kept beside D0 for mixing (oldest dropped), >= 0
    balanced_mix: bool = False  # D0 draws fill every batch up to an equal share per live class
    added_class_mass: float = 1.0  # balanced_mix share of a class known only from add_global()
    seed: int = 0  # batch order and D0 draws (a restored state continues its own draws)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"LearnerConfig.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"LearnerConfig.momentum must be in [0, 1), got {self.momentum}")
        if not 0 <= self.mix_ratio < 1:
            raise ConfigError(f"LearnerConfig.mix_ratio must be in [0, 1), got {self.mix_ratio}")
        if self.added_class_mass <= 0:
            raise ConfigError(
                f"LearnerConfig.added_class_mass must be > 0, got {self.added_class_mass}"
            )
        if self.cache_bytes < 0:
            raise ConfigError(f"LearnerConfig.cache_bytes must be >= 0, got {self.cache_bytes}")


def _same_length(pcm: np.ndarray, labels: Sequence[str]) -> None:
    clips = 1 if np.ndim(pcm) == 1 else len(pcm)
    if clips != len(labels):
        raise DataError(f"{clips} clips but {len(labels)} labels: give one label per clip")


def _load_npz(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of a bundle's ``.npz`` file; a damaged file raises CorruptBundle."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in names}
    except (OSError, ValueError, KeyError) as exc:
        raise CorruptBundle(f"{path} is not a readable bundle array file ({exc})") from exc


class Learner(GlobalSetMixin):
    """A personalisable keyword spotter on the device."""

    def __init__(
        self,
        bundle: Path | str,
        state_dir: Path | str | None = None,
        config: LearnerConfig | None = None,
    ) -> None:
        quiet_loggers()
        from executorch.extension.pybindings.portable_lib import _load_for_executorch_from_buffer

        self.bundle = Path(bundle)
        self.config = config or LearnerConfig()
        self.manifest = read_manifest(self.bundle)  # verifies every file's sha256
        self.state_dir = (
            Path(state_dir) if state_dir else self.bundle.with_name(self.bundle.name + ".state")
        )
        self._pte = (self.bundle / BUNDLE_FILES["program"]).read_bytes()  # must outlive module
        try:
            self._module: Any = _load_for_executorch_from_buffer(self._pte)
        except RuntimeError as exc:
            raise CorruptBundle(f"{self.bundle}: the runtime rejected model.pte ({exc})") from exc
        m = self.manifest
        try:
            self.plan = TrainingPlan.from_dict(m.plan)
        except FileFormatError as exc:
            raise CorruptBundle(f"{self.bundle}: the manifest's plan is damaged ({exc})") from exc
        if self.config.momentum > 0 and not self.plan.momentum:
            raise ConfigError(
                "the bundle's training plan budgets no optimizer state: use "
                "LearnerConfig(momentum=0) or export with a plan that counts momentum"
            )
        self.names = [t["name"] for t in m.trainable]
        initial = _load_npz(self.bundle / BUNDLE_FILES["weights"], self.names)
        self.weights = {n: torch.from_numpy(initial[n]).clone() for n in self.names}
        d0 = _load_npz(self.bundle / BUNDLE_FILES["d0"], ["features", "labels"])
        self.d0_features, self.d0_labels = d0["features"], d0["labels"].astype(np.int64)
        self.replay_features = np.zeros((0, m.feature_size), dtype=np.float32)  # user's clips
        self.replay_labels = np.zeros(0, dtype=np.int64)
        self.global_features = np.zeros((0, m.feature_size), dtype=np.float32)  # added to D0
        self.global_labels = np.zeros(0, dtype=np.int64)
        self.labels: list[str] = list(m.labels)  # the label of each slot in use
        self.live: list[str] = list(m.labels)  # the labels predicted and trained
        self.cache = FeatureCache(self.state_dir / "cache", self._cache_bytes(), m.backbone_hash)
        self._rng = np.random.default_rng(self.config.seed)
        self._joint: dict[str, JointMethod] = {}
        if (self.state_dir / STATE_FILE).exists():
            self.restore()

    def _cache_bytes(self) -> int:
        """The configured bound, tightened to what the plan's cache budget leaves beside D0."""
        budget = self.manifest.memory.cache.budget_bytes
        if budget is None:
            return self.config.cache_bytes
        left = budget - int(self.d0_features.nbytes)
        return max(0, min(self.config.cache_bytes, left))

    def parts(self, features: np.ndarray) -> list[torch.Tensor]:
        """Flat ``(n, feature_size)`` features -> the tensors the methods take, per the cut."""
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        out, start = [], 0
        for part in self.manifest.feature_parts:
            size = math.prod(part["shape"])
            out.append(x[:, start : start + size].reshape(-1, *part["shape"]).contiguous())
            start += size
        return out

    # ----------------------------------------------------------------- inference
    def _clips(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.asarray(pcm, dtype=np.float32)
        if pcm.ndim == 1:
            pcm = pcm[None]
        n = self.manifest.clip_samples
        if pcm.ndim != 2 or pcm.shape[1] != n:
            raise DataError(f"pcm must be (clips, {n}) float32 at 16 kHz, got {pcm.shape}")
        if not len(pcm):
            raise DataError("pcm holds no clips")
        if not np.isfinite(pcm).all():
            raise DataError("pcm holds NaN or Inf samples")
        return pcm

    def _features(self, features: np.ndarray) -> np.ndarray:
        """``features`` checked as rows of this bundle's cached features."""
        x = np.asarray(features, dtype=np.float32)
        size = self.manifest.feature_size
        if x.ndim != 2 or x.shape[1] != size or not len(x):
            raise DataError(f"features must be (rows >= 1, {size}), got {x.shape}")
        if not np.isfinite(x).all():
            raise DataError("features hold NaN or Inf")
        return x

    def embed(self, pcm: np.ndarray, progress: bool = False) -> np.ndarray:
        """Features at the cut for ``(clips, samples)`` PCM, through the cache."""
        clips = self._clips(pcm)
        keys = [self.cache.key_for(c) for c in clips]
        out: list[np.ndarray | None] = [self.cache.get(k) for k in keys]
        missing = [i for i, f in enumerate(out) if f is None]
        step = self.manifest.max_batch
        starts = range(0, len(missing), step)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            idx = missing[start : start + step]
            feats = flatten_parts(self._module.run_method("embed", (torch.from_numpy(clips[idx]),)))
            for i, f in zip(idx, feats, strict=True):
                out[i] = f
                self.cache.put(keys[i], f)
        return np.stack([f for f in out if f is not None])

    def logits(self, features: np.ndarray) -> np.ndarray:
        """``classify`` with the current weights (masked slots at about -1e4)."""
        features = self._features(features)
        weights = [self.weights[n] for n in self.names]
        mask, step = self.class_mask, self.manifest.max_batch
        out = [
            self._module.run_method("classify", (*self.parts(chunk), mask, *weights))[0].numpy()
            for chunk in (features[i : i + step] for i in range(0, len(features), step))
        ]
        return np.concatenate(out)

    def predict(self, pcm: np.ndarray) -> list[str]:
        """Label of each clip (``embed`` then ``classify``)."""
        return [self.labels[i] for i in self.logits(self.embed(pcm)).argmax(axis=1)]

    def accuracy(self, pcm: np.ndarray, labels: Sequence[str]) -> float:
        """Percent of clips predicted as their label."""
        _same_length(pcm, labels)
        predicted = self.predict(pcm)
        return 100.0 * float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))

    # ------------------------------------------------------------------ training
    def _method(self, name: str) -> JointMethod:
        if name not in self._joint:
            b, slots = self.manifest.train_batch, self.manifest.max_classes
            parts = self.parts(np.zeros((b, self.manifest.feature_size), dtype=np.float32))
            second = (
                torch.zeros(b, dtype=torch.long)
                if name == "train_step"
                else torch.full((b, slots), 1.0 / slots)
            )
            self._joint[name] = JointMethod(self._module, name, (*parts, second, self.class_mask))
        return self._joint[name]

    def _index(self, labels: Sequence[str]) -> np.ndarray:
        unknown = sorted(set(labels) - set(self.live))
        if unknown:
            raise DataError(f"labels {unknown} are not live classes of this learner ({self.live})")
        return np.array([self.labels.index(x) for x in labels], dtype=np.int64)

    def train_features(
        self,
        features: np.ndarray,
        targets: np.ndarray,
        epochs: int,
        mix_ratio: float | None = None,
    ) -> list[float]:
        """SGD epochs of ``train_step`` over features mixed with D0; mean loss per epoch.

        ``targets`` are the slots of the features' classes (live ones).
        """
        if epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {epochs}")
        features = self._features(features)
        targets = np.asarray(targets, dtype=np.int64)
        if targets.shape != (len(features),) or not np.isin(targets, self._live_slots()).all():
            raise DataError(
                f"targets must be {len(features)} slots of live classes "
                f"{self._live_slots().tolist()}, got {targets.tolist()[:10]}"
            )
        mix = self.config.mix_ratio if mix_ratio is None else mix_ratio
        globals_x, globals_y = self.global_set()
        pool_x = np.concatenate([globals_x, self.replay_features])
        pool_y = np.concatenate([globals_y, self.replay_labels])
        live = np.isin(pool_y, self._live_slots())
        d0_x, d0_y = pool_x[live], pool_y[live]
        mask, batch = self.class_mask, self.manifest.train_batch
        weights = None
        if self.config.balanced_mix and len(d0_y):
            real = np.concatenate([self.d0_labels, self.replay_labels])
            added_only = np.setdiff1d(d0_y, real)  # classes known only from add_global()
            masses = {int(c): self.config.added_class_mass for c in added_only}
            user_share = split_batch(batch, mix, True)[0] / batch
            weights = filling_weights(d0_y, targets, user_share, masses)

        def batches() -> Iterator[tuple[torch.Tensor, ...]]:
            for u, d in mixed_batches(len(features), len(d0_x), batch, mix, self._rng, weights):
                x = np.concatenate([features[u], d0_x[d]])
                y = np.concatenate([targets[u], d0_y[d]])
                yield (*self.parts(x), torch.from_numpy(y), mask)

        return self.sgd_epochs("train_step", epochs, batches)

    def personalize(
        self,
        pcm: np.ndarray,
        labels: Sequence[str],
        epochs: int = 5,
        mix_ratio: float | None = None,
        progress: bool = False,
    ) -> list[float]:
        """Adapt to the user's labelled clips (embedded once, then read from the cache).

        The clips then join the replay set that later training mixes in (with D0).
        """
        _same_length(pcm, labels)
        targets = self._index(labels)
        features = self.embed(pcm, progress)
        history = self.train_features(features, targets, epochs, mix_ratio)
        self._remember(features, targets)
        return history

    def _remember(self, features: np.ndarray, targets: np.ndarray) -> None:
        """Keep the newest ``replay_clips`` user clips for mixing."""
        keep = self.config.replay_clips
        if keep == 0:
            return
        self.replay_features = np.concatenate([self.replay_features, features])[-keep:]
        self.replay_labels = np.concatenate([self.replay_labels, targets])[-keep:]

    def enroll(
        self,
        name: str,
        pcm: np.ndarray,
        epochs: int = 20,
        mix_ratio: float | None = None,
    ) -> list[float]:
        """Add class ``name`` into the next free slot from a few clips; old classes keep working.

        By default batches are class-balanced: the new class takes about 1/(live classes) of
        each batch and D0 plus the replay set the rest (at least the configured ``mix_ratio``),
        so a handful of clips does not flood the head. The new clips join the replay set, so
        later training keeps mixing them in.
        """
        if name in self.labels:
            raise DataError(f"class {name!r} already exists; use personalize() to add clips")
        if len(self.labels) >= self.manifest.max_classes:
            raise NoFreeSlot(
                f"all {self.manifest.max_classes} class slots are in use ({self.labels}); "
                "export the bundle with a larger HeadConfig.max_classes"
            )
        features = self.embed(pcm)
        self.labels.append(name)
        self.live.append(name)
        targets = np.full(len(features), len(self.labels) - 1, dtype=np.int64)
        if mix_ratio is None:
            mix_ratio = max(self.config.mix_ratio, 1.0 - 1.0 / len(self.live))
        history = self.train_features(features, targets, epochs, mix_ratio)
        self._remember(features, targets)
        return history

    # ------------------------------------------------------------ exchange
    def get_trainable(self) -> dict[str, np.ndarray]:
        """What this device trains, by name: all a federated client sends. A sparse plan's
        frozen entries are constants of the program, so they are not in it."""
        return {n: self.weights[n].numpy().copy() for n in self.names}

    def set_trainable(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Replace the trained entries (e.g. with a federated average); shapes must match."""
        expected = {t["name"]: tuple(t["shape"]) for t in self.manifest.trainable}
        if set(arrays) != set(expected):
            raise DataError(
                f"trainable arrays must be exactly {sorted(expected)}, got {sorted(arrays)}"
            )
        update = {}
        for name, array in arrays.items():
            value = np.asarray(array, dtype=np.float32)
            if value.shape != expected[name]:
                raise DataError(f"{name} must have shape {expected[name]}, got {value.shape}")
            if not np.isfinite(value).all():
                raise DataError(f"{name} holds NaN or Inf")
            update[name] = torch.from_numpy(value.copy())
        self.weights = update

    # ------------------------------------------------------------------- state
    def save(self) -> Path:
        """Weights, labels, live labels, the replay set and global extras, written atomically."""
        state = LearnerState(
            weights={n: t.numpy() for n, t in self.weights.items()},
            labels=self.labels,
            live=self.live,
            replay_features=self.replay_features,
            replay_labels=self.replay_labels,
            global_features=self.global_features,
            global_labels=self.global_labels,
            rng=dict(self._rng.bit_generator.state),
        )
        return write_state(self.state_dir / STATE_FILE, state, self.manifest.backbone_hash)

    def restore(self) -> None:
        """Load what :meth:`save` wrote; a state of another backbone is refused."""
        m = self.manifest
        state = read_state(self.state_dir / STATE_FILE, self.names, m.backbone_hash, m.feature_size)
        self.weights = {n: torch.from_numpy(w).clone() for n, w in state.weights.items()}
        self.labels, self.live = state.labels, state.live
        self.replay_features, self.replay_labels = state.replay_features, state.replay_labels
        self.global_features, self.global_labels = state.global_features, state.global_labels
        if state.rng is not None:  # continue the draws where the last run left them
            self._rng.bit_generator.state = state.rng

    def memory_report(self) -> BundleMemory:
        """The manifest's memory figures as this device runs them, and its cache in use."""
        memory = self.manifest.memory
        training = memory.training
        if self.config.momentum == 0:  # plain SGD keeps no state: the plan's optimizer bytes free
            training = training.without_optimizer_state()
        cache = replace(memory.cache, used_bytes=self.cache.bytes, limit_bytes=self.cache.max_bytes)
        return replace(memory, training=training, cache=cache)
