"""How a corpus is dealt out to a federation: pure index arithmetic, tested without models.

The corpus is split by speaker (keywords) or by source recording (urban sounds), so that no voice
or recording is in two places: the server's public set, one part per client, a common test set.
New classes go only to a few "owners" among the clients that hold clips of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgekit.errors import ConfigError

__all__ = ["choose_owners", "deal_new_clips", "speaker_groups", "split_groups"]


def speaker_groups(speakers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The speaker (or source recording) of every clip. Silence clips, cut from a few noise
    files (speaker ``noise-*``), belong to no speaker: each joins a random speaker's group, so
    every part gets some."""
    groups = speakers.astype(object).copy()
    noise = np.array([str(s).startswith("noise-") for s in groups])
    voices = np.unique(groups[~noise])
    groups[noise] = rng.choice(voices, size=int(noise.sum()))
    return groups.astype(str)


def split_groups(
    groups: np.ndarray,
    public_share: float,
    test_share: float,
    n_clients: int,
    rng: np.random.Generator,
) -> tuple[set[str], set[str], list[set[str]]]:
    """Speakers/sources -> (public, test, one set per client), each group in one place:
    ``public_share`` and ``test_share`` of them (at least one each), the rest split evenly."""
    unique = rng.permutation(np.unique(groups))
    n_public = max(1, round(public_share * unique.size))
    n_test = max(1, round(test_share * unique.size))
    public, test, rest = (
        unique[:n_public],
        unique[n_public : n_public + n_test],
        unique[n_public + n_test :],
    )
    if rest.size < n_clients:
        raise ConfigError(
            f"{rest.size} speakers/sources are left for {n_clients} clients: a larger corpus, "
            "fewer clients or smaller public/test shares"
        )
    return set(public), set(test), [set(part) for part in np.array_split(rest, n_clients)]


def choose_owners(
    archs: Sequence[str],
    new: Sequence[str],
    holders: Mapping[str, set[int]],
    per_class: int,
) -> dict[str, list[int]]:
    """Each new class to ``per_class`` of the clients that hold clips of it (``holders[label]``),
    each client owning at most one new class, the owners of one class on different
    architectures (``archs[client]``) where the holders allow. Consecutive new classes
    interleave (class j prefers clients j, j + len(new), ...), so with every client holding
    every class the owners are those of a fixed round-robin."""
    n = len(archs)
    owners: dict[str, list[int]] = {}
    taken: set[int] = set()
    for j, label in enumerate(new):
        preferred = list(range(j, n, len(new)))
        order = preferred + [c for c in range(n) if c not in preferred]
        free = [c for c in order if c in holders.get(label, set()) and c not in taken]
        chosen: list[int] = []
        for c in free:  # distinct architectures first
            if archs[c] not in {archs[x] for x in chosen}:
                chosen.append(c)
        chosen += [c for c in free if c not in chosen]
        if len(chosen) < per_class:
            raise ConfigError(
                f"{len(free)} clients hold clips of the new class {label!r} and own no other "
                f"new class; {per_class} needed (more clients or fewer owners_per_new)"
            )
        owners[label] = sorted(chosen[:per_class])
        taken |= set(owners[label])
    return owners


def deal_new_clips(
    groups: np.ndarray,
    label_of: np.ndarray,
    parts: Sequence[np.ndarray],
    owners: Mapping[str, list[int]],
) -> list[np.ndarray]:
    """Per client, the new-class clips it gets when the clients' share is pooled at the owners
    (``parts[c]``: client c's clips as a mask): an owner keeps the speakers/sources of the class
    it holds; those of the other clients go, in the clients' order, each to the owner holding
    the fewest so far (ties to the lowest id)."""
    extra = [np.zeros(len(groups), dtype=bool) for _ in parts]
    for label, mine in owners.items():
        of_label = label_of == label
        held = {c: list(dict.fromkeys(groups[parts[c] & of_label].tolist())) for c in mine}
        dealt = {c: len(held[c]) for c in mine}
        for cid, part in enumerate(parts):
            if cid in dealt:
                continue
            for source in dict.fromkeys(groups[part & of_label].tolist()):
                to = min(dealt, key=lambda c: (dealt[c], c))
                dealt[to] += 1
                held[to].append(source)
        for c, sources in held.items():
            extra[c] |= of_label & np.isin(groups, sources)
    return extra
