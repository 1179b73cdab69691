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
architecture is pretrained on the public set and exported as a bundle whose D0 holds the public
clips' features; the server also keeps every public clip's and every probe signal's
(:mod:`edgekit_server.fl.probe`) features by every architecture (the feature bridge's pairs).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit._quiet import quiet_dependencies
from edgekit.atomic import atomic_write_bytes
from edgekit.audio.frontend import LogMel
from edgekit.data.corpus import ClipSet
from edgekit.export.bundle import ExportConfig, export_bundle, flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.models import HeadConfig, build_model
from edgekit.models.pretrain import PretrainConfig, compute_logmel, pretrain, save_checkpoint
from edgekit_server.fl.probe import probe_signals
from edgekit_server.fl.workspace import ClientSpec, FederationSpec, Workspace

__all__ = ["DATASETS", "FederationConfig", "build_federation", "tiny_federation"]

DATASETS = ("kws", "urban")
NEW_LABELS = {"kws": ("stop", "go"), "urban": ("siren", "street_music")}
NEW_CLIPS = ("own", "pooled")  # FederationConfig.new_clips
SMALL_ARCHS: dict[str, dict[str, Any]] = {  # small variants: pretraining fits a 2-core budget
    "tcresnet": {"widths": [16, 24, 32, 48]},
    "resnet": {"channels": 16, "blocks": 3},
    "dscnn": {"channels": 32, "blocks": 2},
}


# what a workspace holds; a workspace built under another layout is rebuilt
# (2: the public clips' embeddings by every architecture, for the feature bridge;
# 3: new classes go to clients that hold clips of them;
# 4: the probe signals' embeddings by every architecture, for the feature bridge)
WORKSPACE_LAYOUT = 4


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
    probe_clips: int = 4000  # probe signals (edgekit_server.fl.probe) every architecture embeds
    # for the clustering's feature bridge, >= 0. The urban benchmark workspace's four new-class
    # groups: 0 -> one class; 4000 -> the two classes, silhouette 0.27-0.28 (probe seeds 0-2);
    # 8000 did no better than 4000 on a second urban workspace
    kws_speakers: int = 36  # synthetic speakers of the keyword corpus
    kws_reps: int = 8  # utterances of each keyword per speaker
    kws_unknown_words: int = 10  # distinct _unknown_ words (the backbones learn to tell them apart)
    kws_unknown_reps: int = 1  # utterances of each unknown word per speaker
    urban_clips_per_class: int = 200  # clips per class of the urban-sound corpus
    seed: int = 0  # the corpus, the splits, the clients' shares, D0
    # the backbones' initial weights and batch order (None: ``seed``); the figures of a
    # federation move with it as much as with anything tuned on them (README, session 11)
    pretrain_seed: int | None = None
    arch_options: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(SMALL_ARCHS))

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.n_clients < 2 or self.owners_per_new < 1 or self.missing_old < 0:
            raise ValueError(
                "n_clients must be >= 2, owners_per_new >= 1 and missing_old >= 0, got "
                f"{self.n_clients}, {self.owners_per_new}, {self.missing_old}"
            )
        if not 0 < self.public_share < 1 or not 0 < self.test_share < 1:
            raise ValueError("public_share and test_share must be in (0, 1)")
        if self.probe_clips < 0:
            raise ValueError(f"probe_clips must be >= 0, got {self.probe_clips}")
        if self.pretrain_seed is not None and self.pretrain_seed < 0:
            raise ValueError(f"pretrain_seed must be None or >= 0, got {self.pretrain_seed}")
        if self.new_clips not in NEW_CLIPS:
            raise ValueError(f"new_clips must be one of {NEW_CLIPS}, got {self.new_clips!r}")

    def fingerprint(self) -> str:
        stamp = {"layout": WORKSPACE_LAYOUT, **asdict(self)}
        if self.pretrain_seed is None:  # the workspaces built before the field keep their name
            del stamp["pretrain_seed"]
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
        probe_clips=512,
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


def _groups(clips: ClipSet, cfg: FederationConfig, rng: np.random.Generator) -> np.ndarray:
    """The speaker (or source recording) of every clip. Silence clips, cut from a few noise
    files, belong to no speaker: each joins a random speaker's group, so every part gets some."""
    groups = clips.speakers.astype(object).copy()
    noise = np.array([str(s).startswith("noise-") for s in groups])
    voices = np.unique(groups[~noise])
    groups[noise] = rng.choice(voices, size=int(noise.sum()))
    return groups.astype(str)


def _split_groups(groups: np.ndarray, cfg: FederationConfig, rng: np.random.Generator) -> Any:
    """Speakers/sources -> public, test, and one set per client (each group in one place)."""
    unique = rng.permutation(np.unique(groups))
    n_public = max(1, round(cfg.public_share * unique.size))
    n_test = max(1, round(cfg.test_share * unique.size))
    public, test, rest = (
        unique[:n_public],
        unique[n_public : n_public + n_test],
        unique[n_public + n_test :],
    )
    if rest.size < cfg.n_clients:
        raise ValueError(f"{rest.size} speakers/sources left for {cfg.n_clients} clients")
    return set(public), set(test), [set(part) for part in np.array_split(rest, cfg.n_clients)]


def _owners(
    cfg: FederationConfig, new: tuple[str, ...], holders: dict[str, set[int]]
) -> dict[str, list[int]]:
    """Each new class to ``owners_per_new`` of the clients that hold clips of it
    (``holders[label]``), each client owning at most one new class, the owners of one class on
    different architectures where the holders allow. Consecutive new classes interleave
    (class j prefers clients j, j + len(new), ...), so with every client holding every class
    the owners are the same as a fixed round-robin."""
    arch = {c: cfg.archs[c % len(cfg.archs)] for c in range(cfg.n_clients)}
    owners: dict[str, list[int]] = {}
    taken: set[int] = set()
    for j, label in enumerate(new):
        preferred = list(range(j, cfg.n_clients, len(new)))
        order = preferred + [c for c in range(cfg.n_clients) if c not in preferred]
        free = [c for c in order if c in holders.get(label, set()) and c not in taken]
        chosen: list[int] = []
        for c in free:  # distinct architectures first
            if arch[c] not in {arch[x] for x in chosen}:
                chosen.append(c)
        chosen += [c for c in free if c not in chosen]
        if len(chosen) < cfg.owners_per_new:
            raise ValueError(
                f"{len(free)} clients hold clips of the new class {label!r} and own no other "
                f"new class; {cfg.owners_per_new} needed (more clients or fewer owners_per_new)"
            )
        owners[label] = sorted(chosen[: cfg.owners_per_new])
        taken |= set(owners[label])
    return owners


def _deal_new_clips(
    groups: np.ndarray,
    label_of: np.ndarray,
    parts_mask: list[np.ndarray],
    owners: dict[str, list[int]],
) -> list[np.ndarray]:
    """Per client, the new-class clips it gets when the clients' share is pooled at the owners:
    an owner keeps the speakers/sources of the class it holds; those of the other clients go,
    in the clients' order, each to the owner holding the fewest so far (ties to the lowest id)."""
    extra = [np.zeros(len(groups), dtype=bool) for _ in parts_mask]
    for label, mine in owners.items():
        of_label = label_of == label
        held = {c: list(dict.fromkeys(groups[parts_mask[c] & of_label].tolist())) for c in mine}
        dealt = {c: len(held[c]) for c in mine}
        for cid, part in enumerate(parts_mask):
            if cid in dealt:
                continue
            for source in dict.fromkeys(groups[part & of_label].tolist()):
                to = min(dealt, key=lambda c: (dealt[c], c))
                dealt[to] += 1
                held[to].append(source)
        for c, sources in held.items():
            extra[c] |= of_label & np.isin(groups, sources)
    return extra


def build_federation(root: Path | str, config: FederationConfig | None = None) -> Workspace:
    """Build (or reuse, when built with the same config) the workspace at ``root``."""
    cfg = config or FederationConfig()
    ws = Workspace(root)
    stamp = ws.root / "build.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("fingerprint") == cfg.fingerprint():
        return ws
    _build(ws, cfg)
    stamp.write_text(json.dumps({"fingerprint": cfg.fingerprint()}))
    return ws


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


def _build(ws: Workspace, cfg: FederationConfig) -> None:
    workers = min(len(cfg.archs), os.cpu_count() or 1)
    context = _start_workers() if workers > 1 else None
    clips = _corpus(ws.root / "corpus", cfg)
    names = list(clips.label_names)
    new = cfg.new_labels or NEW_LABELS[cfg.dataset]
    unknown = sorted(set(new) - set(names))
    if unknown:
        raise ValueError(f"new classes {unknown} are not classes of the {cfg.dataset} corpus")
    old = [x for x in names if x not in new]
    rng = np.random.default_rng(cfg.seed)
    groups = _groups(clips, cfg, rng)
    public, test, parts = _split_groups(groups, cfg, rng)
    label_of = np.array([names[i] for i in clips.labels])
    is_new = np.isin(label_of, new)

    # the server: pretrain each architecture on the public clips of old classes, export
    server = clips.take(np.isin(groups, list(public)) & ~is_new)
    server = _relabel(server, old)
    words = _words(server)
    # the probe signals' log-mels, made once (every architecture shares the front-end) while
    # no worker runs; each worker embeds them with its model after pretraining
    probes = _probe_logmel(ws)
    if cfg.probe_clips:
        _save_probe_logmel(cfg, server.audio.shape[1], probes)
    order = _slowest_first(cfg, server.audio[:_TIMING_CLIPS]) if context else list(cfg.archs)
    jobs = [(arch, ws.root, server, words, old, cfg) for arch in order]
    if context is None:
        list(map(_build_arch, jobs))
    else:  # one architecture per core: pretraining and export are single-threaded
        # the workers' dependency warnings (torch pytree notices while unpickling) are noise
        with ProcessPoolExecutor(workers, context, initializer=quiet_dependencies) as pool:
            list(pool.map(_build_arch, jobs))
    probes.unlink(missing_ok=True)  # the embeddings stay; the log-mels were only their input

    # the clients: their groups' clips, minus a few old classes, new classes at owners only
    parts_mask = [np.isin(groups, list(part)) for part in parts]
    holders = {x: {c for c, m in enumerate(parts_mask) if (m & (label_of == x)).any()} for x in new}
    owners = _owners(cfg, new, holders)
    new_given = (  # per client, the new-class clips an owner among them may keep
        _deal_new_clips(groups, label_of, parts_mask, owners)
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
        np.savez(ws.client_dir(cid) / "data.npz", pcm=clips.audio[keep], labels=labels)
        present = [x for x in names if x in set(labels.tolist())]
        specs.append(
            ClientSpec(
                cid,
                cfg.archs[cid % len(cfg.archs)],
                present,
                [x for x in mine_new if x in present],
                int(keep.sum()),
            )
        )

    # the common test set: every class, at most test_per_class clips each
    in_test = np.flatnonzero(np.isin(groups, list(test)))
    chosen = np.concatenate(
        [rng.permutation(in_test[label_of[in_test] == x])[: cfg.test_per_class] for x in names]
    )
    np.savez(ws.root / "test.npz", pcm=clips.audio[chosen], labels=label_of[chosen])
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


def _build_arch(job: tuple[str, Path, ClipSet, ClipSet | None, list[str], Any]) -> None:
    """Pretrain one architecture, save its checkpoint, export its bundle (D0: public clips)."""
    arch, root, server, words, old, cfg = job
    torch.set_num_threads(1)
    ws = Workspace(root)
    model = _pretrain(arch, server, words, cfg)
    save_checkpoint(model, ws.checkpoint(arch), tuple(old))
    config = ExportConfig(d0_per_class=cfg.d0_per_class, seed=cfg.seed)
    export_bundle(model, old, ws.bundle(arch), server, config)
    cut = read_manifest(ws.bundle(arch)).cut
    chunks = (
        compute_logmel(model.frontend, server.audio[i : i + _CHUNK])
        for i in range(0, len(server), _CHUNK)
    )
    _save_features(model, cut, chunks, ws.public_features(arch))
    if not cfg.probe_clips:
        ws.probe_features(arch).unlink(missing_ok=True)
        return
    if model.frontend.config != LogMel().config:
        raise ValueError(
            f"{arch} has a front-end of its own; the probe log-mels assume the default"
        )
    probes = np.load(_probe_logmel(ws), mmap_mode="r")
    chunks = (
        torch.from_numpy(np.array(probes[i : i + _CHUNK])) for i in range(0, len(probes), _CHUNK)
    )
    _save_features(model, cut, chunks, ws.probe_features(arch))


_CHUNK = 256  # clips embedded at a time
_TIMING_CLIPS = 32  # one pretraining batch


def _slowest_first(cfg: FederationConfig, pcm: np.ndarray) -> list[str]:
    """The architectures by the time a training step on ``pcm`` takes, slowest first.

    The workers take them in this order, so the longest pretraining starts at once and the
    others share the second core: in the benchmark's keyword build the dscnn's started after the
    tcresnet's (about 40 s) in the order of ``cfg.archs``. The order does not change what is
    built."""
    costs = {}
    for arch in cfg.archs:
        model = build_model(arch, head=HeadConfig(hidden=64), **cfg.arch_options.get(arch, {}))
        logmel = compute_logmel(model.frontend, pcm)
        seconds = []
        for _ in range(2):  # the first step warms the kernels up
            started = time.perf_counter()
            model.head(model.embed_logmel(logmel)).sum().backward()
            seconds.append(time.perf_counter() - started)
        costs[arch] = seconds[-1]
    return sorted(cfg.archs, key=lambda arch: -costs[arch])


def _probe_logmel(ws: Workspace) -> Path:
    """Where the build keeps the probe log-mels while its workers embed them."""
    return ws.root / "models" / "probe_logmel.npy"


def _save_probe_logmel(cfg: FederationConfig, length: int, path: Path) -> None:
    """The log-mels (default front-end) of ``cfg.probe_clips`` probe signals of ``length``
    samples, float32 (n, n_mels, frames)."""
    frontend = LogMel()
    rate = frontend.config.sample_rate
    parts = [
        compute_logmel(
            frontend, probe_signals(min(_CHUNK, cfg.probe_clips - i), length, rate, cfg.seed, i)
        ).numpy()
        for i in range(0, cfg.probe_clips, _CHUNK)
    ]
    _save_float32(path, np.concatenate(parts))


def _save_features(model: Any, cut: str, chunks: Iterable[torch.Tensor], path: Path) -> None:
    """The features at the bundle's ``cut`` (what its ``embed_logmel`` returns, flattened:
    float32 (n, D), in order) of the log-mel batches in ``chunks``: the pairs the server's
    feature bridge is fitted on (the public clips themselves stay with the server)."""
    model.eval()
    with torch.no_grad():
        parts = [flatten_parts(model.features_at(cut, logmel)) for logmel in chunks]
    _save_float32(path, np.concatenate(parts))


def _save_float32(path: Path, array: np.ndarray) -> None:
    """``array`` as float32 ``.npy`` at ``path``, written atomically (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32))
    atomic_write_bytes(path, buffer.getvalue())


def _words(clips: ClipSet) -> ClipSet | None:
    """The clips labelled by the word said (each ``_unknown_`` word its own class), or None for
    a corpus without words (urban sounds)."""
    if "_unknown_" not in clips.label_names:
        return None
    names = [clips.label_names[i] for i in clips.labels]
    words = [
        Path(p).parent.name if n == "_unknown_" else n
        for p, n in zip(clips.paths, names, strict=True)
    ]
    vocabulary = sorted(set(words))
    out = clips.take(np.arange(len(clips)))
    out.labels = np.array([vocabulary.index(w) for w in words], dtype=np.int64)
    out.label_names = tuple(vocabulary)
    return out


def _pretrain(arch: str, clips: ClipSet, words: ClipSet | None, cfg: FederationConfig) -> Any:
    """Pretrain ``arch`` on the server's clips of old classes.

    With words (keywords), the backbone learns to tell every word apart, each unknown word its
    own class: features that separate words the server never labels help every client learn a
    new keyword later. The bundle's head is then trained for the old classes on that frozen
    backbone."""
    options = cfg.arch_options.get(arch, {})
    seed = cfg.seed if cfg.pretrain_seed is None else cfg.pretrain_seed
    torch.manual_seed(seed)
    train = PretrainConfig(epochs=cfg.pretrain_epochs, seed=seed)
    head = HeadConfig(hidden=64, max_classes=cfg.max_classes)
    if words is None:
        model = build_model(arch, head=head, **options)
        pretrain(model, clips, None, train, progress=False)
        return model
    wide = HeadConfig(hidden=64, max_classes=max(cfg.max_classes, len(words.label_names)))
    teacher = build_model(arch, head=wide, **options)
    pretrain(teacher, words, None, train, progress=False)
    model = build_model(arch, head=head, **options)
    model.backbone.load_state_dict(teacher.backbone.state_dict())
    _train_head(model, clips, seed)
    return model.eval()


def _train_head(model: Any, clips: ClipSet, seed: int, epochs: int = 60) -> None:
    """The head alone, on the frozen backbone's features (computed once)."""
    from torch.nn import functional as F

    model.eval()
    with torch.no_grad():
        features = model.embed_logmel(compute_logmel(model.frontend, clips.audio))
    labels = torch.from_numpy(clips.labels)
    n_classes = len(clips.label_names)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.head.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for batch in torch.randperm(len(labels), generator=gen).split(32):
            loss = F.cross_entropy(model.head(features[batch])[:, :n_classes], labels[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()


def _relabel(clips: ClipSet, labels: list[str]) -> ClipSet:
    """``clips`` with label indices into ``labels`` (every clip's label must be in it)."""
    names = [clips.label_names[i] for i in clips.labels]
    out = clips.take(np.arange(len(clips)))
    out.labels = np.array([labels.index(x) for x in names], dtype=np.int64)
    out.label_names = tuple(labels)
    return out
