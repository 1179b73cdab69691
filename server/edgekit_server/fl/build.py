"""Build a federation workspace from an offline corpus: the zero-shot setting of Gudur & Perepu.

The corpus is split by speaker (keywords) or by source recording (urban sounds), so no voice or
recording is in two places: the server's public set (pretraining and D0: old classes only), the
clients (one part per client) and a common test set of every class. The new classes never reach
the server or pretraining; each is given only to a few of the clients that hold clips of it
("owners", on different architectures where possible): by default an owner keeps the new-class
clips of its own speakers/sources and the other clients' are dropped; with
``new_clips="pooled"`` the clients' whole share of a new class is dealt out to its owners by
speaker/source (more voices or recordings per owner). Each client also lacks a few old classes
at random (heterogeneous label sets) and is assigned an architecture round-robin. One model per
architecture is pretrained on the public set (:mod:`edgekit_server.fl.backbones`) and exported
as a bundle whose D0 holds the public clips' features; the server also keeps every architecture's
features of every public clip (to standardise the embeddings of data impressions).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import numpy as np

from edgekit._quiet import quiet_dependencies
from edgekit.atomic import atomic_write_bytes
from edgekit.data.corpus import ClipSet
from edgekit.errors import ConfigError
from edgekit_server.fl.backbones import ArchitectureJob, build_architecture, slowest_first, words
from edgekit_server.fl.split import choose_owners, deal_new_clips, speaker_groups, split_groups
from edgekit_server.fl.workspace import ClientSpec, FederationSpec, Workspace

__all__ = ["DATASETS", "FederationConfig", "build_federation", "tiny_federation"]

DATASETS = ("kws", "urban")
NEW_LABELS = {"kws": ("stop", "go"), "urban": ("siren", "street_music")}
NEW_CLIPS = ("own", "pooled")  # FederationConfig.new_clips
TIMING_CLIPS = 32  # clips of the training step that orders the architectures (one batch)
SMALL_ARCHS: dict[str, dict[str, Any]] = {  # small variants: pretraining fits a 2-core budget
    "tcresnet": {"widths": [16, 24, 32, 48]},
    "resnet": {"channels": 16, "blocks": 3},
    "dscnn": {"channels": 32, "blocks": 2},
}


# what a workspace holds; a workspace built under another layout is rebuilt from scratch
WORKSPACE_LAYOUT = 7  # 7: bundles of manifest schema 5 (detection settings)
# settings used only after the server's clips are chosen (the speaker permutation that picks
# them does not depend on these): changing them rebuilds the clients, not the backbones
CLIENT_FIELDS = frozenset(
    {"n_clients", "owners_per_new", "new_clips", "missing_old", "test_share", "test_per_class"}
)


@dataclass(frozen=True)
class FederationConfig:
    """How a federation is built (the same config builds the same workspace)."""

    dataset: str = "kws"  # one of DATASETS
    n_clients: int = 10  # >= 2
    archs: tuple[str, ...] = ("tcresnet", "resnet", "dscnn")  # assigned round-robin
    new_labels: tuple[str, ...] | None = None  # the new classes (default per dataset)
    owners_per_new: int = 2  # clients holding each new class, on different architectures
    # "own": an owner keeps the new-class clips of its own speakers/sources (the rest of the
    # clients' share is dropped); "pooled": the clients' share of each new class goes to its
    # owners, dealt out by speaker/source (an owner keeps its own)
    new_clips: str = "own"
    missing_old: int = 2  # each client lacks 0..missing_old old classes, >= 0
    public_share: float = 0.5  # share of speakers/sources for the server, in (0, 1)
    test_share: float = 0.14  # share of speakers/sources for the common test set, in (0, 1)
    test_per_class: int = 40  # test clips per class (at most), >= 1
    pretrain_epochs: int = 25  # >= 1
    max_classes: int = 16  # head slots of every bundle
    d0_per_class: int = 20  # public clips per class in D0
    kws_speakers: int = 36  # synthetic speakers of the keyword corpus
    kws_reps: int = 8  # utterances of each keyword per speaker
    kws_unknown_words: int = 10  # distinct _unknown_ words (the backbones learn to tell them apart)
    kws_unknown_reps: int = 1  # utterances of each unknown word per speaker
    urban_clips_per_class: int = 200  # clips per class of the urban-sound corpus
    seed: int = 0  # the corpus, the splits, the clients' shares, D0
    # the backbones' initial weights and batch order (None: ``seed``); the corpus, the splits
    # and the clients stay those of ``seed``
    pretrain_seed: int | None = None
    arch_options: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(SMALL_ARCHS))

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.n_clients < 2 or self.owners_per_new < 1 or self.missing_old < 0:
            raise ConfigError(
                "n_clients must be >= 2, owners_per_new >= 1 and missing_old >= 0, got "
                f"{self.n_clients}, {self.owners_per_new}, {self.missing_old}"
            )
        if not 0 < self.public_share < 1 or not 0 < self.test_share < 1:
            raise ConfigError(
                "public_share and test_share must be in (0, 1), got "
                f"{self.public_share}, {self.test_share}"
            )
        for name in ("test_per_class", "pretrain_epochs", "d0_per_class", "max_classes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.pretrain_seed is not None and self.pretrain_seed < 0:
            raise ConfigError(f"pretrain_seed must be None or >= 0, got {self.pretrain_seed}")
        if self.new_clips not in NEW_CLIPS:
            raise ConfigError(f"new_clips must be one of {NEW_CLIPS}, got {self.new_clips!r}")

    def fingerprint(self) -> str:
        """16 hex digits naming what this config builds (the layout version included)."""
        return _digest({"layout": WORKSPACE_LAYOUT, **asdict(self)})

    def backbones_fingerprint(self) -> str:
        """16 hex digits naming what the architectures' checkpoints and bundles depend on:
        everything but the settings that only deal clips to clients (``CLIENT_FIELDS``)."""
        server = {k: v for k, v in asdict(self).items() if k not in CLIENT_FIELDS}
        return _digest({"layout": WORKSPACE_LAYOUT, **server})


def _digest(stamp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:16]


def tiny_federation(**changes: Any) -> FederationConfig:
    """Three keyword clients on tiny models, one owner per new class: a federation that builds
    in about a minute on 2 cores, for tests and ``--quick`` benchmarks; ``changes`` override."""
    base = FederationConfig(
        dataset="kws",
        n_clients=3,
        owners_per_new=1,
        missing_old=1,
        public_share=0.5,
        test_share=0.2,
        test_per_class=8,
        pretrain_epochs=6,
        d0_per_class=8,
        kws_speakers=12,
        kws_reps=4,
        arch_options={
            "tcresnet": {"widths": [12, 16, 24]},
            "resnet": {"channels": 8, "blocks": 2},
            "dscnn": {"channels": 16, "blocks": 1},
        },
    )
    return replace(base, **changes)


def _corpus(root: Path, cfg: FederationConfig) -> ClipSet:
    """Every clip of the dataset, decoded (labels index ``label_names``)."""
    if cfg.dataset == "kws":
        from edgekit.data.generate_kws import KwsCorpusConfig, generate_kws_corpus
        from edgekit.data.speech_commands import load_speech_commands

        config = KwsCorpusConfig(
            seed=cfg.seed,
            n_speakers=cfg.kws_speakers,
            reps=cfg.kws_reps,
            n_unknown_words=cfg.kws_unknown_words,
            unknown_reps=cfg.kws_unknown_reps,
        )
        folder = generate_kws_corpus(root, config, progress=False, overwrite=True)
        corpus = load_speech_commands(folder, unknown_fraction=None, silence_fraction=0.15)
    else:
        from edgekit.data.generate_urban import UrbanCorpusConfig, generate_urban_corpus
        from edgekit.data.urbansound import load_urbansound

        config_u = UrbanCorpusConfig(seed=cfg.seed, clips_per_class=cfg.urban_clips_per_class)
        corpus = load_urbansound(
            generate_urban_corpus(root, config_u, progress=False, overwrite=True)
        )
    return corpus.load(progress=False)


def build_federation(root: Path | str, config: FederationConfig | None = None) -> Workspace:
    """Build (or reuse, when built with the same config) the workspace at ``root``.

    A workspace built with another config (or an older layout) is rebuilt: its clients and
    server state are replaced, and its models and bundles too unless only client settings
    (``CLIENT_FIELDS``) changed; the generated corpus is reused when it matches."""
    cfg = config or FederationConfig()
    ws = Workspace(root)
    stamp = ws.root / "build.json"
    reuse = False
    if stamp.is_file():
        built = _read_stamp(stamp)
        if built.get("fingerprint") == cfg.fingerprint():
            return ws
        reuse = built.get("backbones") == cfg.backbones_fingerprint()
        stamp.unlink()  # a crash from here on rebuilds everything
        for part in ("clients", "server") if reuse else ("models", "bundles", "clients", "server"):
            shutil.rmtree(ws.root / part, ignore_errors=True)
    _build(ws, cfg, reuse_backbones=reuse)
    done = {"fingerprint": cfg.fingerprint(), "backbones": cfg.backbones_fingerprint()}
    atomic_write_bytes(stamp, json.dumps(done).encode())
    return ws


def _read_stamp(path: Path) -> dict[str, Any]:
    """What ``build.json`` says was built; an unreadable stamp says nothing (a full rebuild)."""
    try:
        stamp = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _start_workers() -> Any:
    """A multiprocessing context for the build's workers, its fork server already warming up
    (:mod:`edgekit_server.fl.build_worker`) while the corpus is synthesised; spawn where there
    is no fork server (the workers then warm up on their first export)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["edgekit_server.fl.build_worker"])
    forkserver.ensure_running()  # returns at once; the server imports the preload meanwhile
    return context


def _build(ws: Workspace, cfg: FederationConfig, reuse_backbones: bool = False) -> None:
    workers = 0 if reuse_backbones else min(len(cfg.archs), os.cpu_count() or 1)
    context = _start_workers() if workers > 1 else None
    clips = _corpus(ws.root / "corpus", cfg)
    names = list(clips.label_names)
    new = cfg.new_labels or NEW_LABELS[cfg.dataset]
    unknown = sorted(set(new) - set(names))
    if unknown:
        raise ConfigError(
            f"new_labels {unknown} are not classes of the {cfg.dataset} corpus ({names})"
        )
    old = [x for x in names if x not in new]
    rng = np.random.default_rng(cfg.seed)
    groups = speaker_groups(clips.speakers, rng)
    public, test, parts = split_groups(groups, cfg.public_share, cfg.test_share, cfg.n_clients, rng)
    label_of = np.array([names[i] for i in clips.labels])
    is_new = np.isin(label_of, new)

    # the server: pretrain each architecture on the public clips of old classes, export (kept
    # as they are when the same server clips and settings built them)
    server = _relabel(clips.take(np.isin(groups, list(public)) & ~is_new), old)
    if not reuse_backbones:
        _build_architectures(ws, cfg, server, old, context, workers)

    # the clients: their groups' clips, minus a few old classes, new classes at owners only
    archs = [cfg.archs[c % len(cfg.archs)] for c in range(cfg.n_clients)]
    parts_mask = [np.isin(groups, list(part)) for part in parts]
    holders = {x: {c for c, m in enumerate(parts_mask) if (m & (label_of == x)).any()} for x in new}
    owners = choose_owners(archs, new, holders, cfg.owners_per_new)
    new_given = (  # per client, the new-class clips an owner among them may keep
        deal_new_clips(groups, label_of, parts_mask, owners)
        if cfg.new_clips == "pooled"
        else [mine & is_new for mine in parts_mask]
    )
    specs = []
    for cid, mine in enumerate(parts_mask):
        k = int(rng.integers(0, cfg.missing_old + 1))
        lacking = set(rng.choice(old, size=k, replace=False).tolist()) if k else set()
        mine_new = [x for x in new if cid in owners[x]]
        keep = (mine & ~is_new & ~np.isin(label_of, list(lacking))) | (
            new_given[cid] & np.isin(label_of, mine_new)
        )
        labels = label_of[keep]
        ws.client_dir(cid).mkdir(parents=True, exist_ok=True)
        _save_npz(ws.client_dir(cid) / "data.npz", pcm=clips.audio[keep], labels=labels)
        present = [x for x in names if x in set(labels.tolist())]
        mine_present = [x for x in mine_new if x in present]
        specs.append(ClientSpec(cid, archs[cid], present, mine_present, int(keep.sum())))

    # the common test set: every class, at most test_per_class clips each
    in_test = np.flatnonzero(np.isin(groups, list(test)))
    chosen = np.concatenate(
        [rng.permutation(in_test[label_of[in_test] == x])[: cfg.test_per_class] for x in names]
    )
    _save_npz(ws.root / "test.npz", pcm=clips.audio[chosen], labels=label_of[chosen])
    per_class = min(int((label_of[chosen] == x).sum()) for x in names)
    spec = FederationSpec(
        name=cfg.dataset,
        old_labels=old,
        true_new_labels=list(new),
        max_classes=cfg.max_classes,
        archs=list(cfg.archs),
        clients=specs,
        test_clips_per_class=per_class,
        extra={"public_clips": len(server), "owners": owners, "config": asdict(cfg)},
    )
    ws.write_spec(spec)


def _build_architectures(
    ws: Workspace,
    cfg: FederationConfig,
    server: ClipSet,
    old: list[str],
    context: Any,
    workers: int,
) -> None:
    said = words(server)
    order = slowest_first(cfg, server.audio[:TIMING_CLIPS]) if context else list(cfg.archs)
    jobs = [ArchitectureJob(arch, ws.root, server, said, old, cfg) for arch in order]
    if context is None:
        list(map(build_architecture, jobs))
        return
    # one architecture per core: pretraining and export are single-threaded; the workers'
    # dependency warnings (torch pytree notices while unpickling) are noise
    with ProcessPoolExecutor(workers, context, initializer=quiet_dependencies) as pool:
        list(pool.map(build_architecture, jobs))


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``arrays`` as one ``.npz`` at ``path``, written atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def _relabel(clips: ClipSet, labels: list[str]) -> ClipSet:
    """``clips`` with label indices into ``labels`` (every clip's label must be in it)."""
    names = [clips.label_names[i] for i in clips.labels]
    out = clips.take(np.arange(len(clips)))
    out.labels = np.array([labels.index(x) for x in names], dtype=np.int64)
    out.label_names = tuple(labels)
    return out
