"""Federated partitioners: pure functions from per-clip arrays to per-client index arrays.

Every function returns a list with one sorted ``int64`` index array per client; indices refer to
the arrays passed in (e.g. a :class:`~edgekit.data.corpus.ClipSet`'s ``labels`` / ``speakers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgekit.errors import ConfigError, DataError

__all__ = ["NewClassSplit", "by_speaker", "dirichlet", "new_classes_split"]


def _check_clients(n_clients: int, available: int, what: str) -> None:
    if n_clients < 1:
        raise ConfigError(f"n_clients must be >= 1, got {n_clients}")
    if n_clients > available:
        raise ConfigError(
            f"n_clients must be <= the number of {what} ({available}), got {n_clients}"
        )


def by_speaker(speakers: np.ndarray, n_clients: int, seed: int = 0) -> list[np.ndarray]:
    """Natural non-IID split: each speaker's clips all go to one client.

    Speakers are shuffled, then dealt greedily to the client with the fewest clips so far, which
    keeps client sizes close while never splitting a speaker.
    """
    unique, inverse, counts = np.unique(speakers, return_inverse=True, return_counts=True)
    _check_clients(n_clients, unique.size, "speakers")
    order = np.random.default_rng(seed).permutation(unique.size)
    order = order[np.argsort(-counts[order], kind="stable")]  # largest first, ties shuffled
    sizes = np.zeros(n_clients, dtype=np.int64)
    owner = np.empty(unique.size, dtype=np.int64)
    for s in order:
        client = int(np.argmin(sizes))
        owner[s] = client
        sizes[client] += counts[s]
    return [np.flatnonzero(owner[inverse] == c) for c in range(n_clients)]


def dirichlet(
    labels: np.ndarray,
    n_clients: int,
    alpha: float,
    seed: int = 0,
    min_size: int = 1,
    max_tries: int = 100,
) -> list[np.ndarray]:
    """Label skew: each class's clips are spread over clients with proportions ~ Dir(alpha).

    Small ``alpha`` (0.1) gives clients few classes; large ``alpha`` (100) is close to IID.
    Draws again (up to ``max_tries``) until every client has at least ``min_size`` clips.
    """
    if alpha <= 0:
        raise ConfigError(f"alpha must be > 0, got {alpha}")
    _check_clients(n_clients, labels.size, "clips")
    if min_size * n_clients > labels.size:
        raise ConfigError(
            f"min_size * n_clients must be <= the number of clips ({labels.size}), "
            f"got {min_size} * {n_clients}"
        )
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        for cls in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == cls))
            shares = rng.dirichlet(np.full(n_clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * idx.size).astype(np.int64)
            for client, chunk in enumerate(np.split(idx, cuts)):
                parts[client].append(chunk)
        result = [np.sort(np.concatenate(p)) for p in parts]
        if min(r.size for r in result) >= min_size:
            return result
    raise ConfigError(
        f"no Dirichlet(alpha={alpha}) draw gave every one of {n_clients} clients >= {min_size} "
        f"clips in {max_tries} tries; raise alpha or lower min_size"
    )


@dataclass(frozen=True)
class NewClassSplit:
    """The zero-shot federated setting: a global set without the new classes, and clients."""

    initial: np.ndarray  # indices for pre-training / D0: never contains a new class
    clients: list[np.ndarray]  # per-client indices; new-class clips only at their owners
    owners: dict[int, tuple[int, ...]]  # new class -> clients that hold its clips


def new_classes_split(
    labels: np.ndarray,
    new_classes: Sequence[int],
    n_clients: int,
    owners: dict[int, Sequence[int]] | None = None,
    initial_fraction: float = 0.2,
    speakers: np.ndarray | None = None,
    seed: int = 0,
) -> NewClassSplit:
    """Hold ``new_classes`` out of the initial set and give them to some clients only.

    Old-class clips: ``initial_fraction`` go to the initial (server) set, the rest to clients
    (by speaker when ``speakers`` is given, else uniformly at random). New-class clips go only to
    ``owners[c]`` (default: two clients per new class, chosen at random), split evenly among them.
    """
    if not 0 <= initial_fraction < 1:
        raise ConfigError(f"initial_fraction must be in [0, 1), got {initial_fraction}")
    present = set(np.unique(labels).tolist())
    unknown = [c for c in new_classes if c not in present]
    if unknown:
        raise DataError(f"new_classes must occur in labels, got {unknown}")
    rng = np.random.default_rng(seed)
    _check_clients(n_clients, labels.size, "clips")
    if owners is None:
        owners = {
            int(c): tuple(rng.choice(n_clients, size=min(2, n_clients), replace=False).tolist())
            for c in new_classes
        }
    for c, who in owners.items():
        if c not in new_classes or not who or any(not 0 <= k < n_clients for k in who):
            raise ConfigError(
                f"owners must map each new class to clients in [0, {n_clients}), got {c}: {who}"
            )
    is_new = np.isin(labels, list(new_classes))
    old = rng.permutation(np.flatnonzero(~is_new))
    n_initial = round(initial_fraction * old.size)
    initial, rest = np.sort(old[:n_initial]), old[n_initial:]
    if speakers is not None:
        local = by_speaker(speakers[rest], n_clients, seed)
        clients = [list(rest[part]) for part in local]
    else:
        clients = [list(chunk) for chunk in np.array_split(rest, n_clients)]
    for c in new_classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        who = list(owners[int(c)])
        for client, chunk in zip(who, np.array_split(idx, len(who)), strict=True):
            clients[client].extend(chunk.tolist())
    return NewClassSplit(
        initial=initial,
        clients=[np.sort(np.asarray(c, dtype=np.int64)) for c in clients],
        owners={int(c): tuple(int(k) for k in owners[int(c)]) for c in new_classes},
    )
