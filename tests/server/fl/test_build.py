"""Who owns each new class in a built federation; what its corpus holds."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.errors import ConfigError
from edgekit.export.bundle import flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.models.pretrain import compute_logmel, load_checkpoint
from edgekit.runtime import Program
from edgekit_server.fl.backbones import pretrain_backbone, words
from edgekit_server.fl.build import FederationConfig, _corpus, build_federation, tiny_federation
from edgekit_server.fl.split import choose_owners, deal_new_clips
from edgekit_server.fl.workspace import Workspace
from tests.server.fl.conftest import TINY

ARCHS = ["a", "b", "c", "a", "b", "c"]  # six clients, round-robin on three architectures


def test_with_every_client_holding_every_class_owners_interleave() -> None:
    everyone = set(range(6))
    owners = choose_owners(ARCHS, ("stop", "go"), {"stop": everyone, "go": everyone}, 2)
    assert owners == {"stop": [0, 2], "go": [1, 3]}  # architectures a, c and b, a


def test_only_clients_holding_clips_of_a_class_own_it_on_distinct_architectures() -> None:
    # client 2 holds no "stop"; clients 0 and 3 share architecture a
    owners = choose_owners(ARCHS, ("stop", "go"), {"stop": {0, 3, 4}, "go": {0, 1, 3, 5}}, 2)
    assert owners["stop"] == [0, 4]  # 3 would repeat architecture a
    assert owners["go"] == [1, 3]
    assert not set(owners["stop"]) & set(owners["go"])


def test_too_few_holders_is_an_error_that_says_what_to_change() -> None:
    with pytest.raises(ConfigError, match="1 clients hold clips of the new class 'go'"):
        choose_owners(ARCHS, ("stop", "go"), {"stop": {0, 1}, "go": {1, 2}}, 2)


def test_the_unknown_words_setting_reaches_the_corpus_and_the_pretraining_labels(
    tmp_path: Path,
) -> None:
    cfg = tiny_federation(kws_speakers=3, kws_reps=1, kws_unknown_words=4, kws_unknown_reps=2)
    clips = _corpus(tmp_path, cfg)
    unknown = clips.label_names.index("_unknown_")
    said = Counter(
        (str(s), Path(p).parent.name)
        for s, p, y in zip(clips.speakers, clips.paths, clips.labels, strict=True)
        if y == unknown
    )
    assert len({word for _, word in said}) == 4
    assert set(said.values()) == {2}  # every speaker says every unknown word twice
    said = words(clips)
    assert said is not None  # 10 keywords, 4 unknown words, _silence_: 15 to tell apart
    assert len(said.label_names) == 10 + 4 + 1
    assert cfg.fingerprint() != tiny_federation(kws_speakers=3, kws_reps=1).fingerprint()


def test_pooled_new_clips_go_to_the_owners_by_source_each_keeping_its_own() -> None:
    # clips: (source, label); clients 0..2 hold sources s0 / s1, s2 / s3, s4
    clips = [
        ("s0", "siren"), ("s0", "siren"), ("s0", "dog"),
        ("s1", "siren"),
        ("s2", "siren"), ("s2", "dog"),
        ("s3", "siren"),
        ("s4", "siren"), ("s4", "siren"),
    ]  # fmt: skip
    groups = np.array([g for g, _ in clips])
    labels = np.array([y for _, y in clips])
    parts = [np.isin(groups, s) for s in (["s0", "s1"], ["s2", "s3"], ["s4"])]
    extra = deal_new_clips(groups, labels, parts, {"siren": [0, 2]})
    # 0 keeps s0, s1; 2 keeps s4; client 1's s2 goes to 2 (fewer), s3 to 0 (a tie: lower id)
    assert [np.flatnonzero(e).tolist() for e in extra] == [[0, 1, 3, 6], [], [4, 7, 8]]
    assert not any(labels[np.concatenate([np.flatnonzero(e) for e in extra])] == "dog")


def test_a_new_clips_mode_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(ConfigError, match="new_clips must be one of"):
        FederationConfig(new_clips="all")


def test_a_pooled_build_gives_owners_more_of_their_class_and_leaves_the_rest_alone(
    federation: Workspace, tmp_path: Path
) -> None:
    # a copy of the built workspace, rebuilt with a client setting changed: backbones are kept
    shutil.copytree(federation.root, tmp_path / "pooled")
    checkpoint = (tmp_path / "pooled" / "models" / f"{TINY.archs[0]}.pt").stat()
    pooled = build_federation(tmp_path / "pooled", replace(TINY, new_clips="pooled"))
    again = pooled.checkpoint(TINY.archs[0]).stat()
    assert (again.st_ino, again.st_mtime_ns) == (checkpoint.st_ino, checkpoint.st_mtime_ns)
    for own, pool in zip(federation.spec().clients, pooled.spec().clients, strict=True):
        a = np.load(federation.client_dir(own.id) / "data.npz")
        b = np.load(pooled.client_dir(pool.id) / "data.npz")
        old_a, old_b = ~np.isin(a["labels"], own.new_labels), ~np.isin(b["labels"], own.new_labels)
        assert (pool.labels, pool.new_labels) == (own.labels, own.new_labels)
        np.testing.assert_array_equal(a["pcm"][old_a], b["pcm"][old_b])  # old classes untouched
        if own.new_labels:  # every other client holds a speaker who said the owner's class
            assert (~old_b).sum() > (~old_a).sum()
        else:
            assert pool.n_examples == own.n_examples
    np.testing.assert_array_equal(
        np.load(federation.root / "test.npz")["pcm"], np.load(pooled.root / "test.npz")["pcm"]
    )


def test_a_change_of_a_backbone_setting_rebuilds_the_backbones() -> None:
    cfg = replace(TINY, n_clients=2)
    assert cfg.backbones_fingerprint() == TINY.backbones_fingerprint()
    assert cfg.fingerprint() != TINY.fingerprint()
    for change in ({"pretrain_epochs": 2}, {"public_share": 0.4}, {"pretrain_seed": 3}):
        assert replace(TINY, **change).backbones_fingerprint() != TINY.backbones_fingerprint()


def test_the_stored_public_features_are_what_each_bundle_embeds(federation: Workspace) -> None:
    """The server standardises every architecture's runtime embedding of impressions by the
    public clips' features stored at build time (eager PyTorch): the two must agree."""
    spec = federation.spec()
    pcm, _ = federation.test_set()
    for arch in spec.archs:
        stored = np.load(federation.public_features(arch))
        assert stored.shape[0] == spec.extra["public_clips"] and np.all(np.isfinite(stored))
        model = load_checkpoint(federation.checkpoint(arch))[0].eval()
        logmel = compute_logmel(model.frontend, pcm[:6])
        with torch.no_grad():
            cut = read_manifest(federation.bundle(arch)).cut
            eager = flatten_parts(model.features_at(cut, logmel))
        program = Program(federation.bundle(arch) / "model.pte")
        runtime = flatten_parts(program.run("embed_logmel", logmel))
        assert runtime.shape[1] == stored.shape[1]
        np.testing.assert_allclose(runtime, eager, rtol=1e-3, atol=1e-3)


def test_the_pretraining_seed_moves_the_backbones_and_names_another_workspace(
    tmp_path: Path,
) -> None:
    cfg = tiny_federation(kws_speakers=3, kws_reps=1, pretrain_epochs=1)
    clips = _corpus(tmp_path, cfg)

    def weights(config: FederationConfig) -> list[np.ndarray]:
        model = pretrain_backbone("tcresnet", clips, None, config)
        return [v.detach().numpy().copy() for v in model.state_dict().values()]

    default, same, other = (
        weights(c) for c in (cfg, replace(cfg, pretrain_seed=0), replace(cfg, pretrain_seed=1))
    )
    assert all(np.array_equal(a, b) for a, b in zip(default, same, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(default, other, strict=True))
    assert cfg.fingerprint() != replace(cfg, pretrain_seed=1).fingerprint()  # another workspace
    with pytest.raises(ConfigError, match="pretrain_seed must be None or >= 0"):
        replace(cfg, pretrain_seed=-1)
