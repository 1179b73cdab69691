"""`edgekit-hub fleet`: device processes against a real hub train from one version after another
and pick up each new one; a device process that dies is reported with its log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgekit_server.errors import FleetError
from edgekit_server.hub.fleet import DeviceCrashed, DeviceProcess
from edgekit_server.hub.fleet_data import FleetDataConfig, split_clips
from tests.bundle_fixture import TONE_HZ, BuiltBundle, tone_clip

HUB_CLI = "from edgekit_server.hub.cli import main; main()"


def _clips(folder: Path, devices: int) -> Path:
    """Each device's tones, higher than the bundle's (a voice it has not heard)."""
    folder.mkdir()
    for d in range(devices):
        rng = np.random.default_rng(d)
        parts = {}
        for split in ("train", "test"):
            pcm = [
                tone_clip(hz * (1.12 + 0.02 * d + 0.005 * k), rng, 0.002)
                for hz in TONE_HZ.values()
                for k in range(3)
            ]
            parts[f"{split}_pcm"] = np.stack(pcm)
            parts[f"{split}_labels"] = np.array([w for w in TONE_HZ for _ in range(3)])
        np.savez(folder / f"{d:02d}.npz", **parts)
    return folder


@pytest.mark.slow
def test_two_devices_train_from_two_versions_and_pick_up_the_next(
    built: BuiltBundle, tmp_path: Path
) -> None:
    clips, run = _clips(tmp_path / "clips", 2), tmp_path / "run"
    args = ["fleet", "--devices", "2", "--rounds", "2", "--epochs", "2", "--json"]
    args += ["--bundle", str(built.path), "--clips", str(clips), "--workdir", str(run)]
    done = subprocess.run(
        [sys.executable, "-c", HUB_CLI, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["crashed"] == [] and summary["devices"] == 2 and summary["versions"] == 2
    assert "accuracy on the devices' held-out clips" in done.stdout

    per_version = {v["version"]: v for v in summary["bytes_per_device_per_version"]}
    assert sorted(per_version) == [1, 2, 3]  # the hub's two versions reached both devices
    assert all(v["devices"] == 2 for v in per_version.values())
    bundle = sum(p.stat().st_size for p in built.path.iterdir())
    assert per_version[1]["down"] >= bundle and per_version[1]["reused"] == 0
    assert per_version[2]["down"] < bundle / 2 < per_version[2]["reused"]  # only new files
    assert per_version[1]["up"] > 0 and per_version[2]["up"] > 0  # the updates
    assert summary["bytes_down"] >= 2 * bundle and summary["bytes_up"] > 0
    assert set(summary["rollout_s"]) == {"1", "2", "3"}

    rounds = summary["per_round"]
    assert [r["new_version"] for r in rounds] == [2, 3, None]
    assert rounds[0]["cache_misses"] > 0 and rounds[1]["cache_misses"] == 0  # cache kept
    for key in ("acc_before", "acc_after", "acc_last_version"):
        assert 0 <= summary[key] <= 100

    device = run / "devices" / "device-00"
    current = json.loads((device / "hub" / "current" / "metadata.json").read_text())
    assert current["version"] == 3
    assert (device / "hub" / "previous" / "bundle" / "manifest.json").is_file()
    assert (device / "state" / "learner_state.previous.npz").is_file()  # set aside, not used


def test_a_device_process_that_dies_or_hangs_is_reported(tmp_path: Path) -> None:
    code = "import sys; print('boom', file=sys.stderr); sys.exit(3)"
    dying = DeviceProcess("device-x", [sys.executable, "-c", code], tmp_path / "x.log")
    with pytest.raises(DeviceCrashed) as crashed:
        dying.receive(time.monotonic() + 60, 1)
    record = crashed.value.record
    assert record["exit_code"] == 3 and "boom" in record["log_tail"] and record["round"] == 1
    code = "import time; time.sleep(60)"
    silent = DeviceProcess("device-y", [sys.executable, "-c", code], tmp_path / "y.log")
    with pytest.raises(DeviceCrashed, match="no reply in time"):
        silent.receive(time.monotonic() + 0.5, 2)


def test_every_label_keeps_clips_to_test_on() -> None:
    labels = ["a"] * 5 + ["b"] * 2 + ["c"]
    paths = [Path(f"{x}_nohash_{i}.wav") for i, x in enumerate(labels)]
    train, test = split_clips(paths, labels, 0.4)
    assert [labels[i] for i in train] == ["a", "a", "b"]
    assert sorted({labels[i] for i in test}) == ["a", "b", "c"]
    assert not set(train) & set(test)


def test_data_settings_added_later_keep_the_key_of_earlier_builds() -> None:
    earlier = FleetDataConfig(devices=4, pretrain_speakers=12, reps=3, unknown_reps=1)
    assert earlier.key() == "b85cb3cdc950"  # as before widths and d0_per_class existed
    tiny = FleetDataConfig(widths=(12, 16, 24))
    assert len({FleetDataConfig().key(), tiny.key(), FleetDataConfig(d0_per_class=8).key()}) == 3
    with pytest.raises(FleetError, match="widths"):
        FleetDataConfig(widths=(12, 0))
