"""The device side: a bundle run only through the ExecuTorch runtime.

``Learner(bundle)`` verifies the bundle, embeds clips once into a persistent feature cache, trains
the part above the cut with the program's ``train_step`` (SGD in the runtime) mixing the global
set into every batch, enrols new classes into reserved slots, distils with ``distill_step`` and
saves its state atomically. It owns its class slots (:mod:`~edgekit.device.slots`), its global
set (:mod:`~edgekit.device.globalset`), the user's replay set and the trained weights.

One process at a time writes a state folder (:mod:`~edgekit.device.state_folder`); a
``read_only`` learner takes no lock and never saves. A damaged state is never loaded in part nor
replaced silently: it raises :class:`~edgekit.errors.CorruptState` until the user passes
``reset_state=True``, which renames it aside (kept for inspection) and starts from the bundle.
Training skips any step whose loss or gradients are not finite (``refused_steps`` counts them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from edgekit.device.bundle_arrays import load_d0, load_weights
from edgekit.device.cache import FeatureCache
from edgekit.device.config import LearnerConfig
from edgekit.device.detect import DetectConfig, Event, detect
from edgekit.device.globalset import GlobalSet
from edgekit.device.inputs import (
    check_clips,
    check_features,
    check_one_label_per_clip,
    check_trainable,
)
from edgekit.device.learning import Training
from edgekit.device.program import BundleProgram
from edgekit.device.slots import ClassSlots, classifier_entries, swap_columns, swap_indices
from edgekit.device.state import LearnerState, read_state, write_state
from edgekit.device.state_folder import StateLock, clean_temp_files, set_aside, state_folder
from edgekit.errors import (
    ConfigError,
    CorruptBundle,
    CorruptState,
    EdgekitError,
    FileFormatError,
)
from edgekit.export.manifest import read_manifest
from edgekit.plan.reports import BundleMemory
from edgekit.plan.spec import TrainingPlan

__all__ = ["Learner", "LearnerConfig"]

STATE_FILE = "learner_state.npz"


class Learner(Training):
    """A personalisable keyword spotter on the device."""

    def __init__(
        self,
        bundle: Path | str,
        state_dir: Path | str | None = None,
        config: LearnerConfig | None = None,
        *,
        read_only: bool = False,
        reset_state: bool = False,
    ) -> None:
        self.bundle = Path(bundle)
        self.config = config or LearnerConfig()
        self.manifest = m = read_manifest(self.bundle)  # checks it whole, every file's sha256
        self.state_dir = state_folder(
            Path(state_dir) if state_dir else self.bundle.with_name(self.bundle.name + ".state")
        )
        self.read_only = read_only
        self._lock = None if read_only else StateLock(self.state_dir)
        if not read_only:  # what saves killed before their rename left behind
            clean_temp_files(self.state_dir)
        self.program = BundleProgram(self.bundle, m)
        try:
            self.plan = TrainingPlan.from_dict(m.plan)
        except FileFormatError as exc:
            raise CorruptBundle(f"{self.bundle}: the manifest's plan is damaged ({exc})") from exc
        if self.config.momentum > 0 and not self.plan.momentum:
            raise ConfigError(
                "the bundle's training plan budgets no optimizer state: use "
                "LearnerConfig(momentum=0) or export with a plan that counts momentum"
            )
        self.names = [t["name"] for t in m.trainable]  # trainable tensors, classify's order
        initial = load_weights(self.bundle, m)
        self.weights = {n: torch.from_numpy(initial[n]).clone() for n in self.names}
        self.slots = ClassSlots(m.labels, m.max_classes)
        self.global_set = GlobalSet(*load_d0(self.bundle, m), m.feature_size)
        self.replay_features = np.zeros((0, m.feature_size), dtype=np.float32)  # user's clips
        self.replay_labels = np.zeros(0, dtype=np.int64)  # their slots
        self.cache = FeatureCache(
            self.state_dir / "cache", self._cache_bytes(), m.backbone_hash, m.feature_size
        )
        self._rng = np.random.default_rng(self.config.seed)
        self.refused_steps = 0  # training steps of the last call skipped: non-finite loss/grads
        self.set_aside: Path | None = None  # where reset_state moved the previous state
        if (self.state_dir / STATE_FILE).exists():
            if reset_state and not read_only:
                self.set_aside = set_aside(self.state_dir / STATE_FILE, "aside")
            else:
                self.restore()

    def close(self) -> None:
        """Give back the state folder's writer lock (also done when the learner is collected)."""
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Learner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cache_bytes(self) -> int:
        """The configured bound, tightened to what the plan's cache budget leaves beside D0."""
        budget = self.manifest.memory.cache.budget_bytes
        if budget is None:
            return self.config.cache_bytes
        left = budget - int(self.global_set.d0_features.nbytes)
        return max(0, min(self.config.cache_bytes, left))

    # ------------------------------------------------------------ what it holds
    @property
    def labels(self) -> tuple[str, ...]:
        """The label of each slot in use (slot i holds ``labels[i]``)."""
        return self.slots.labels

    @property
    def live(self) -> tuple[str, ...]:
        """The labels this device predicts and trains."""
        return self.slots.live

    @property
    def class_mask(self) -> torch.Tensor:
        """1 for the slots of live labels, 0 elsewhere (unused slots, labels not live here)."""
        return self.slots.mask()

    @property
    def d0_features(self) -> np.ndarray:
        """Features of D0's clips (shipped in the bundle)."""
        return self.global_set.d0_features

    @property
    def d0_labels(self) -> np.ndarray:
        """Slot of each D0 clip."""
        return self.global_set.d0_labels

    @property
    def global_features(self) -> np.ndarray:
        """Features of the examples added to the global set after export."""
        return self.global_set.added_features

    @property
    def global_labels(self) -> np.ndarray:
        """Slot of each added example."""
        return self.global_set.added_labels

    # ----------------------------------------------------------------- inference
    def embed(self, pcm: np.ndarray, progress: bool = False) -> np.ndarray:
        """Features at the cut for ``(clips, samples)`` PCM, through the cache; clips whose
        features are not finite raise :class:`~edgekit.errors.NonFiniteInput`."""
        clips = check_clips(pcm, self.manifest.clip_samples)
        return self.cache.embed(clips, self.program.embed, self.manifest.max_batch, progress)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """``classify`` with the current weights (masked slots at about -1e4)."""
        features = check_features(features, self.manifest.feature_size)
        weights = [self.weights[n] for n in self.names]
        return self.program.classify(features, self.class_mask, weights)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Softmax of ``classify`` over the live slots (the others get about 0)."""
        logits = self.logits(features)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, pcm: np.ndarray) -> list[str]:
        """Label of each clip (``embed`` then ``classify``)."""
        labels = self.labels
        return [labels[i] for i in self.logits(self.embed(pcm)).argmax(axis=1)]

    def detect(self, pcm: np.ndarray, config: DetectConfig | None = None) -> list[Event]:
        """Keyword events in a recording of any length (:mod:`edgekit.device.detect`); ``config``
        defaults to the manifest's ``detection``. Its windows never reach the feature cache."""
        return detect(self, pcm, config)

    def accuracy(self, pcm: np.ndarray, labels: Sequence[str]) -> float:
        """Percent of clips predicted as their label."""
        check_one_label_per_clip(pcm, labels)
        predicted = self.predict(pcm)
        return 100.0 * float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))

    # ------------------------------------------------------------- label slots
    def set_labels(self, labels: Sequence[str], live: Collection[str] | None = None) -> None:
        """Name the slots (``labels[i]`` is slot i) and choose the live ones (default: all).

        Weights stay where they are: renaming a slot does not move what it learned. Examples
        whose slot is no longer live are left out of training (kept, in case it comes back).
        """
        self.slots.set(labels, live)

    def rename_label(self, old: str, new: str) -> None:
        """Give the slot of ``old`` the label ``new``; what it learned and its examples stay."""
        self.slots.rename(old, new)

    def swap_slots(self, a: int, b: int) -> None:
        """Swap class slots ``a`` and ``b``: the classifier's weight columns and bias entries,
        their labels (a slot past the labels in use gets the placeholder ``"(slot i)"``) and the
        slot of every stored example (the replay set, the added global examples).

        The classifier must train whole, and neither slot may hold a class of D0 (D0 ships with
        the bundle, so its slots cannot move).
        """
        self.slots.check(a, b)
        entries = classifier_entries(self.manifest.trainable)
        self.global_set.swap(a, b)  # refuses D0's slots before anything changes
        self.slots.swap(a, b)
        self.replay_labels = swap_indices(self.replay_labels, a, b)
        self.weights = swap_columns(self.weights, entries, a, b)

    def add_global(self, features: np.ndarray, labels: Sequence[str]) -> None:
        """Add examples to the global set (e.g. data impressions of a new class, embedded by
        this architecture): later training mixes them in like D0."""
        self.global_set.add(features, self.slots.slots_of(labels, live_only=False))

    # ------------------------------------------------------------ exchange
    def get_trainable(self) -> dict[str, np.ndarray]:
        """What this device trains, by name: all a federated client sends. A sparse plan's
        frozen entries are constants of the program, so they are not in it."""
        return {n: self.weights[n].numpy().copy() for n in self.names}

    def set_trainable(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Replace the trained entries (e.g. with a federated average); shapes must match."""
        expected = {t["name"]: tuple(t["shape"]) for t in self.manifest.trainable}
        self.weights = check_trainable(arrays, expected)

    # ------------------------------------------------------------------- state
    def save(self) -> Path:
        """Weights, labels, live labels, the replay set and global extras, written atomically
        (never NaN or Inf: such a state raises DataError and the saved one stays)."""
        if self.read_only:
            raise ConfigError("this learner is read-only: open it with read_only=False to save")
        state = LearnerState(
            weights={n: t.numpy() for n, t in self.weights.items()},
            labels=list(self.labels),
            live=list(self.live),
            replay_features=self.replay_features,
            replay_labels=self.replay_labels,
            global_features=self.global_features,
            global_labels=self.global_labels,
            rng=dict(self._rng.bit_generator.state),
        )
        return write_state(self.state_dir / STATE_FILE, state, self.manifest.backbone_hash)

    def restore(self) -> None:
        """Load what :meth:`save` wrote, checked whole against the bundle first; a damaged
        state or one of another bundle raises CorruptState and nothing of it is used."""
        m, path = self.manifest, self.state_dir / STATE_FILE
        shapes = {t["name"]: tuple(t["shape"]) for t in m.trainable}
        try:
            state = read_state(path, shapes, m.backbone_hash, m.feature_size, m.max_classes)
            slots = ClassSlots(m.labels, m.max_classes)
            slots.set(state.labels, state.live)
        except EdgekitError as exc:  # a damaged file, or labels that do not fit the slots
            raise CorruptState(
                f"{exc}; nothing was loaded. To set it aside (kept, renamed) and start from the "
                "bundle's weights, pass --reset-state (Learner(..., reset_state=True))"
            ) from exc
        self.slots = slots
        self.weights = {n: torch.from_numpy(w).clone() for n, w in state.weights.items()}
        self.replay_features, self.replay_labels = state.replay_features, state.replay_labels
        self.global_set.restore(state.global_features, state.global_labels)
        self._rng.bit_generator.state = state.rng  # continue where the last run left off

    def memory_report(self) -> BundleMemory:
        """The manifest's memory figures as this device runs them, and its cache in use."""
        memory = self.manifest.memory
        training = memory.training
        if self.config.momentum == 0:  # plain SGD keeps no state: the plan's optimizer bytes free
            training = training.without_optimizer_state()
        cache = replace(memory.cache, used_bytes=self.cache.bytes, limit_bytes=self.cache.max_bytes)
        return replace(memory, training=training, cache=cache)
