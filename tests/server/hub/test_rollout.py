"""Staged rollout: deterministic, monotonic shares; never backwards."""

from __future__ import annotations

import itertools

import pytest

from edgekit_server.hub.rollout import Release, bucket, offered, rollback_number

DEVICES = [f"device-{i}" for i in range(4000)]


def test_a_share_reaches_about_that_many_devices_the_same_ones_every_time() -> None:
    reached = {d for d in DEVICES if offered("stable", [Release(2, 25.0)], d, 1) == 2}
    assert 0.22 < len(reached) / len(DEVICES) < 0.28
    again = {d for d in DEVICES if offered("stable", [Release(2, 25.0)], d, 1) == 2}
    assert again == reached


def test_raising_the_share_keeps_every_device_already_in() -> None:
    shares = [1.0, 10.0, 50.0, 100.0]
    sets = [{d for d in DEVICES if offered("beta", [Release(7, p)], d, 6)} for p in shares]
    assert all(a <= b for a, b in itertools.pairwise(sets))
    assert sets[-1] == set(DEVICES) and offered("beta", [Release(7, 0.0)], DEVICES[0], 6) is None


def test_each_release_and_channel_picks_its_own_early_devices() -> None:
    first = {d for d in DEVICES if bucket("stable", 2, d) < 10}
    assert first != {d for d in DEVICES if bucket("stable", 3, d) < 10}
    assert first != {d for d in DEVICES if bucket("beta", 2, d) < 10}


def test_the_newest_release_that_reaches_the_device_and_never_one_below_its_own() -> None:
    releases = [Release(3, 100.0), Release(4, 100.0), Release(5, 0.0)]
    assert offered("stable", releases, "phone", None) == 4
    assert offered("stable", releases, "phone", 3) == 4
    assert offered("stable", releases, "phone", 4) is None  # up to date
    assert offered("stable", releases, "phone", 9) is None  # never backwards
    assert offered("stable", [], "phone", None) is None


def test_a_rollback_gets_a_number_above_all() -> None:
    assert rollback_number([1, 2, 5, 3]) == 6 and rollback_number([]) == 1


@pytest.mark.parametrize(("version", "percent"), [(0, 10.0), (1, -1.0), (1, 100.5)])
def test_a_release_out_of_range_is_refused(version: int, percent: float) -> None:
    with pytest.raises(ValueError, match=r"version number|rollout share"):
        Release(version, percent)
