"""One device of the fleet simulator (:mod:`edgekit_server.hub.fleet`), as its own process: an
:class:`~edgekit.device.learner.Learner` on its own clips through the ExecuTorch runtime, which
talks to the hub with the SDK's client (:mod:`edgekit.device.hub_client`).

    python -m edgekit_server.hub.fleet_device --root R --hub URL --public-key HEX --clips F.npz

It registers, prints ``{"ready": ...}``, then answers each line of its stdin with one JSON line:
``{"round": r, "train": true}`` checks in, installs what it is offered, applies the new-version
policy, personalises, posts its update; ``"train": false`` only installs and scores the version.
End of input ends it. Only the replies go to stdout (anything else printed goes to stderr).

New-version policy: the user's clips and the feature cache are kept; the weights start from the
new version (the learner state of the previous version is set aside as
``learner_state.previous.npz``, not restored), and the device personalises again on its clips,
whose features the cache still holds (the key is the backbone hash, which a weights-only version
keeps), so no clip goes through the backbone again. A round that brings no new version trains
nothing and posts nothing: the device has no new clips, and its update was already sent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from edgekit._quiet import quiet_dependencies
from edgekit.device.hub_client import DeviceReport, HubClient
from edgekit.device.signed import load_public_key
from edgekit.errors import HubError

__all__ = ["POLICY_ASIDE", "main"]

POLICY_ASIDE = "learner_state.previous.npz"  # the previous version's state, kept, not restored
REGISTER_TRIES = 20  # registrations refused with 429 are retried after the hub's Retry-After


def _register(client: HubClient, family: str, architecture: str) -> None:
    for _ in range(REGISTER_TRIES):
        try:
            client.register(family, architecture)
            return
        except HubError as exc:
            if exc.status != 429 or exc.retry_after is None:
                raise
            time.sleep(exc.retry_after)
    raise HubError("register", 429, f"still refused after {REGISTER_TRIES} tries")


class Device:
    """The device: its hub client, its clips, its state folder."""

    def __init__(self, args: argparse.Namespace) -> None:
        from edgekit.device.learner import LearnerConfig

        self.root: Path = args.root
        self.client = HubClient(args.hub, self.root / "hub", load_public_key(args.public_key))
        self.state = self.root / "state"
        self.epochs: int = args.epochs
        self.config = LearnerConfig(seed=args.seed)
        with np.load(args.clips, allow_pickle=False) as data:
            self.train_pcm, self.test_pcm = data["train_pcm"], data["test_pcm"]
            self.train_labels = [str(x) for x in data["train_labels"]]
            self.test_labels = [str(x) for x in data["test_labels"]]
        if self.client.device_id is None:
            _register(self.client, args.family, args.architecture)

    def round(self, number: int, train: bool) -> dict[str, Any]:
        from edgekit.device.hub_update import update_body
        from edgekit.device.learner import STATE_FILE, Learner

        traffic = self.client.traffic
        down, up, reused = traffic.down, traffic.up, traffic.reused
        report = DeviceReport(battery=1.0, charging=True, wifi=True)
        installed = self.client.update(report)
        out: dict[str, Any] = {"round": number, "installed": installed}
        out["installed_at"] = time.time() if installed is not None else None
        out["waiting"] = self.client.waiting  # the hub said not now ("wifi", "charging", ...)
        if installed is not None and (self.state / STATE_FILE).exists():  # the policy
            os.replace(self.state / STATE_FILE, self.state / POLICY_ASIDE)
        bundle, version = self.client.bundle, self.client.installed()
        out["version"] = version
        if bundle is None or version is None:
            return out | self._traffic(down, up, reused)
        with Learner(bundle, self.state, self.config) as learner:
            fresh = not (self.state / STATE_FILE).exists()
            if fresh:
                out["acc_version"] = learner.accuracy(self.test_pcm, self.test_labels)
            if train and fresh:
                start, stats = time.perf_counter(), learner.cache.stats
                hits, misses = stats.hits, stats.misses
                learner.personalize(self.train_pcm, self.train_labels, self.epochs)
                out["personalize_s"] = round(time.perf_counter() - start, 3)
                out["cache_hits"], out["cache_misses"] = stats.hits - hits, stats.misses - misses
                learner.save()
                reply = self.client.post_update(update_body(learner), len(self.train_pcm), version)
                out["posted_at"], out["new_version"] = time.time(), reply.get("new_version")
            if train:  # trained now, or the personalised weights of an earlier round
                out["acc_after"] = learner.accuracy(self.test_pcm, self.test_labels)
        return out | self._traffic(down, up, reused)

    def _traffic(self, down: int, up: int, reused: int) -> dict[str, int]:
        t = self.client.traffic
        return {"down": t.down - down, "up": t.up - up, "reused": t.reused - reused}


def _threads() -> None:
    """One compute thread: a fleet of processes shares the machine's cores."""
    import torch

    from edgekit.runtime import PORTABLE_LIB, runtime_module  # without the compiler: seconds

    torch.set_num_threads(1)
    with suppress(ImportError, AttributeError):  # another runtime build: its own default
        runtime_module(PORTABLE_LIB)._unsafe_reset_threadpool(1)  # XNNPACK's pool (embed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the device's folder")
    parser.add_argument("--hub", required=True, help="the hub's URL")
    parser.add_argument("--public-key", required=True, help="the pinned key, 64 hex digits")
    parser.add_argument("--clips", type=Path, required=True, help=".npz of the user's clips")
    parser.add_argument("--family", default="kws")
    parser.add_argument("--architecture", required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    replies: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else prints goes to the log, never into the replies
    start = time.perf_counter()
    quiet_dependencies()
    _threads()
    device = Device(args)
    ready = {"ready": True, "device_id": device.client.device_id}
    replies.write(json.dumps(ready | {"start_s": round(time.perf_counter() - start, 2)}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        replies.write(json.dumps(device.round(int(command["round"]), bool(command["train"]))))
        replies.write("\n")


if __name__ == "__main__":
    main()
