"""A fleet of devices against a real hub: accuracy before/after, bytes per device and version,
time to roll a version out.

Protocol. Generate a keyword corpus whose last voices are the devices' (none of their clips is
pretrained on); pretrain TC-ResNet on the other voices and export a bundle (D0 from their train
split). Each device is one held-out voice: 40% of its clips of each label personalise, the rest
score. Start ``edgekit-hub serve`` (SQLite, a buffer of K = devices updates, so each round makes
one version) and one process per device: an :class:`~edgekit.device.learner.Learner` through
the ExecuTorch runtime (one thread) with the SDK's hub client. Publish the bundle as version 1,
released to all. Each round every device checks in, downloads, verifies and installs the version
it is offered, starts from its weights (its clips and feature cache kept), personalises and posts
its update; the last update of a round makes the next version. After the last round the devices
pick up the version their last updates made and score it as shipped.

Accuracy is the mean over devices of each one's held-out clips, in percent: ``acc_before`` with
the bundle's weights, ``acc_after`` after the last round. ``rollout_s``: per version, seconds from
its publication to its installation on the last device. The corpus (shared with the other
benches) and the pretrained bundle are reused when present under ``bench/results/``; the hub
starts while the bundle is exported. ``--quick``: 8 voices (4 devices), a tiny TC-ResNet
(widths 12, 16, 24) pretrained for 3 epochs, D0 of 8 clips a class; its bundle also serves
``hub_load.py --quick``.

The last line printed is a JSON object; progress goes to stderr.

    python bench/fleet.py            # 20 devices, 3 versions trained from (a few minutes)
    python bench/fleet.py --quick    # 4 devices, 2 versions, tiny bundle: within 60 s
"""

from __future__ import annotations

import argparse
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _kws import FLEET, Progress, fleet_data, quick_fleet_config

from edgekit._quiet import quiet_dependencies
from edgekit_server.hub.fleet import FleetConfig, local_hub, run_fleet
from edgekit_server.hub.fleet_data import FleetDataConfig
from edgekit_server.hub.fleet_report import summary_lines


def plans(quick: bool, seed: int) -> tuple[FleetDataConfig, FleetConfig]:
    if quick:  # a tiny TC-ResNet on 8 voices, its bundle shared with hub_load.py --quick
        return quick_fleet_config(seed), FleetConfig(devices=4, rounds=2, epochs=3, seed=seed)
    data = FleetDataConfig(devices=20, pretrain_speakers=16, pretrain_epochs=20, seed=seed)
    return data, FleetConfig(devices=20, rounds=3, epochs=5, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 devices, 2 versions (< 60 s)")
    parser.add_argument("--seed", type=int, default=0, help="corpus, pretraining and batches")
    args = parser.parse_args()
    quiet_dependencies()
    say = Progress("fleet")
    data_config, config = plans(args.quick, args.seed)
    workdir = FLEET / ("quick" if args.quick else "full")
    with ThreadPoolExecutor(1) as pool:  # the hub starts beside the data's export (one core)
        exporting = threading.Event()  # set when the export starts, or the data is there
        pending = pool.submit(
            lambda: (fleet_data(data_config, args.quick, say, exporting.set), say.elapsed)
        )
        pending.add_done_callback(lambda _: exporting.set())
        exporting.wait()
        with local_hub(workdir / "hub", buffer_k=config.devices) as hub:
            say(f"hub at {hub.url}, buffer of {config.devices} updates")
            data, setup_s = pending.result()
            say(f"data ready in {setup_s:.1f} s: {data.bundle}, {len(data.clips)} devices' clips")
            summary = run_fleet(config, workdir, data.bundle, data.clips, hub, say)
    for line in summary_lines(summary):
        say(line)
    out: dict[str, Any] = {"quick": args.quick, "seed": args.seed, **summary}
    out["pretrain_test_acc_eager"] = data.info["pretrain_test_acc_eager"]
    out["clips_train_test"] = data.info["clips_train_test"]
    out["setup_s"], out["fleet_s"] = round(setup_s, 1), summary["wall_s"]
    out["wall_s"] = round(say.elapsed, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
