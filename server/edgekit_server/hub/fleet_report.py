"""The fleet simulator's figures (:mod:`edgekit_server.hub.fleet`), from the devices' replies:
accuracy before and after, per round, bytes per device and version, rollout times."""

from __future__ import annotations

from statistics import mean
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgekit_server.hub.fleet import FleetConfig

__all__ = ["round_line", "summarise", "summary_lines"]


def _mean(values: list[Any], digits: int = 2) -> float | None:
    found = [float(v) for v in values if v is not None]
    return round(mean(found), digits) if found else None


def round_line(
    r: int, train: bool, replies: list[dict[str, Any]], published: dict[int, float]
) -> str:
    versions = sorted({x["version"] for x in replies if x.get("version") is not None})
    installed = [x for x in replies if x["installed"] is not None]
    line = f"round {r}: {len(replies)} devices on version {versions}, {len(installed)} installed it"
    if installed and installed[0]["installed"] in published:
        done = max(x["installed_at"] for x in installed) - published[installed[0]["installed"]]
        down = _mean([x["down"] for x in installed], 0)
        line += f" (rollout {done:.1f} s, {down:.0f} B down per device)"
    line += f"; accuracy as shipped {_mean([x.get('acc_version') for x in replies])}%"
    if train:
        line += f", personalised {_mean([x.get('acc_after') for x in replies])}%"
        made = [x["new_version"] for x in replies if x.get("new_version") is not None]
        line += f"; the hub made version {made[0]}" if made else "; no new version"
    return line


def summarise(
    rounds: list[list[dict[str, Any]]], published: dict[int, float], config: FleetConfig
) -> dict[str, Any]:
    """The fleet's figures from every round's replies."""
    installs: dict[int, list[dict[str, Any]]] = {}
    for replies in rounds:
        for x in replies:
            if x["installed"] is not None:
                installs.setdefault(int(x["installed"]), []).append(x)
    per_version = [
        {
            "version": v,
            "devices": len(xs),
            "down": _mean([x["down"] for x in xs], 0),
            "reused": _mean([x["reused"] for x in xs], 0),
            "up": _mean([x["up"] for x in xs], 0),
        }
        for v, xs in sorted(installs.items())
    ]
    rollout = {
        str(v): round(max(x["installed_at"] for x in xs) - published[v], 2)
        for v, xs in sorted(installs.items())
        if v in published
    }
    trained = [replies for replies in rounds[: config.rounds] if replies]
    per_round = [
        {
            "round": i + 1,
            "devices": len(replies),
            "acc_version": _mean([x.get("acc_version") for x in replies]),
            "acc_after": _mean([x.get("acc_after") for x in replies]),
            "personalize_s": _mean([x.get("personalize_s") for x in replies], 3),
            "cache_hits": sum(int(x.get("cache_hits", 0)) for x in replies),
            "cache_misses": sum(int(x.get("cache_misses", 0)) for x in replies),
            "new_version": next((x["new_version"] for x in replies if x.get("new_version")), None),
        }
        for i, replies in enumerate(rounds)
    ]
    last = rounds[config.rounds] if len(rounds) > config.rounds else []
    return {
        "devices": config.devices,
        "versions": len(trained),  # trained from; one more is made, picked up and scored
        "versions_installed": len(installs),
        "epochs": config.epochs,
        "acc_before": per_round[0]["acc_version"] if per_round else None,
        "acc_after": _mean([x.get("acc_after") for x in trained[-1]]) if trained else None,
        "acc_last_version": _mean([x.get("acc_version") for x in last]),
        "bytes_down": sum(int(x["down"]) for replies in rounds for x in replies),
        "bytes_up": sum(int(x["up"]) for replies in rounds for x in replies),
        "bytes_per_device_per_version": per_version,
        "rollout_s": rollout,
        "per_round": per_round,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary for people: accuracy, bytes, rollout, crashes."""
    s = summary
    lines = [
        f"fleet: {s['devices']} devices, {s['versions']} versions trained from, "
        f"{s['epochs']} epochs per round, {s['wall_s']} s",
        f"accuracy on the devices' held-out clips: {s['acc_before']}% with the bundle's weights "
        f"-> {s['acc_after']}% after the last round (the last version as shipped: "
        f"{s['acc_last_version']}%)",
        f"bytes moved: {s['bytes_down']} down, {s['bytes_up']} up",
    ]
    for v in s["bytes_per_device_per_version"]:
        lines.append(
            f"  version {v['version']}: {v['devices']} devices, per device {v['down']:.0f} B "
            f"down ({v['reused']:.0f} B reused from the installed version), {v['up']:.0f} B up"
        )
    rollout = ", ".join(f"v{v} {t} s" for v, t in s["rollout_s"].items())
    lines.append(f"rollout (published -> installed on the last device): {rollout}")
    for crash in s["crashed"]:
        lines.append(f"CRASHED: {crash['error']} in round {crash['round']}")
    return lines
