"""The hub's dashboard: one server-rendered page (no front-end build) of versions and their
rollout per channel, the accuracy devices report per version (on their own clips, and on D0 in
the updates trained from it), devices by last check-in, and a chart of accepted updates per hour
(inline SVG). Every value is HTML-escaped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import select

from edgekit_server.hub.schema import Device, ReleaseRow, UpdateRow, Version
from edgekit_server.hub.storage import Storage, utc

__all__ = ["overview", "render"]


@dataclass(frozen=True)
class _DeviceRow:
    id: str
    family: str
    architecture: str
    channel: str
    bundle_version: int | None
    accuracy: float | None
    last_seen: datetime | None


def overview(storage: Storage, hours: int = 24) -> dict[str, Any]:
    """What the dashboard shows: every version with its releases and the mean accuracy devices
    running it report, devices by last check-in, and accepted updates per hour."""
    with storage.session() as s:
        versions = s.execute(
            select(
                Version.family, Version.architecture, Version.number, Version.published_at
            ).order_by(Version.family, Version.architecture, Version.number)
        ).all()
        releases = [
            (r.family, r.architecture, r.number, r.channel, r.percent)
            for r in s.scalars(select(ReleaseRow))
        ]
        devices = [
            _DeviceRow(
                d.id, d.family, d.architecture, d.channel, d.bundle_version, d.accuracy, d.last_seen
            )
            for d in s.scalars(select(Device).order_by(Device.last_seen.desc()))
        ]
        since = datetime.now(UTC) - timedelta(hours=hours)
        updates = s.execute(
            select(
                UpdateRow.family,
                UpdateRow.architecture,
                UpdateRow.version,
                UpdateRow.d0_accuracy,
                UpdateRow.received_at,
            )
        ).all()
    received = [u.received_at for u in updates]
    d0: dict[tuple[str, str, int], list[float]] = {}
    for u in updates:
        if u.d0_accuracy is not None:
            d0.setdefault((u.family, u.architecture, u.version), []).append(u.d0_accuracy)
    shares: dict[tuple[str, str, int], list[tuple[str, float]]] = {}
    for family, arch, number, channel, percent in releases:
        shares.setdefault((family, arch, number), []).append((channel, percent))
    accuracy: dict[tuple[str, str, int], list[float]] = {}
    for d in devices:
        if d.bundle_version is not None and d.accuracy is not None:
            accuracy.setdefault((d.family, d.architecture, d.bundle_version), []).append(d.accuracy)
    per_hour = [0] * hours
    for moment in received:
        age = (since + timedelta(hours=hours) - utc(moment)).total_seconds() // 3600
        if 0 <= age < hours:
            per_hour[hours - 1 - int(age)] += 1
    return {
        "versions": [
            {
                "family": f,
                "architecture": a,
                "number": n,
                "published_at": utc(t),
                "releases": sorted(shares.get((f, a, n), [])),
                "accuracy": _mean(accuracy.get((f, a, n), [])),
                "reporting": len(accuracy.get((f, a, n), [])),
                "d0_accuracy": _mean(d0.get((f, a, n), [])),
                "updates": len(d0.get((f, a, n), [])),
            }
            for f, a, n, t in versions
        ],
        "devices": [
            {
                "id": d.id,
                "channel": d.channel,
                "model": f"{d.family}/{d.architecture}",
                "bundle_version": d.bundle_version,
                "last_seen": utc(d.last_seen) if d.last_seen else None,
            }
            for d in devices
        ],
        "updates_per_hour": per_hour,
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _chart(per_hour: list[int]) -> str:
    """Bars of updates per hour, oldest left, as inline SVG."""
    top = max(per_hour, default=0) or 1
    width, height = 12 * len(per_hour), 80
    bars = "".join(
        f'<rect x="{12 * i + 1}" y="{height - 70 * n / top:.1f}" width="10" '
        f'height="{70 * n / top:.1f}"><title>{n}</title></rect>'
        for i, n in enumerate(per_hour)
    )
    axis = f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#999"/>'
    return (
        f'<svg id="updates-chart" width="{width}" height="{height}" role="img" '
        f'aria-label="updates per hour">{bars}{axis}</svg>'
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def render(storage: Storage) -> str:
    """The dashboard page."""
    data = overview(storage)
    rows = "".join(
        "<tr class='version'>"
        f"<td>{escape(v['family'])}/{escape(v['architecture'])}</td><td>{v['number']}</td>"
        f"<td>{_when(v['published_at'])}</td>"
        f"<td>{escape(', '.join(f'{c} {p:g}%' for c, p in v['releases']) or '-')}</td>"
        f"<td>{_percent(v['accuracy'])} ({v['reporting']})</td>"
        f"<td>{_percent(v['d0_accuracy'])} ({v['updates']})</td></tr>"
        for v in data["versions"]
    )
    devices = "".join(
        "<tr class='device'>"
        f"<td>{escape(d['id'])}</td><td>{escape(d['model'])}</td><td>{escape(d['channel'])}</td>"
        f"<td>{d['bundle_version'] or '-'}</td><td>{_when(d['last_seen'])}</td></tr>"
        for d in data["devices"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgekit hub</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}rect{{fill:#3a7}}</style></head>
<body><h1>edgekit hub</h1>
<h2>Versions</h2><table id="versions"><tr><th>model</th><th>version</th><th>published</th>
<th>released</th><th>accuracy reported (devices)</th><th>D0 accuracy (updates from it)</th>
</tr>{rows}</table>
<h2>Devices</h2><table id="devices"><tr><th>device</th><th>model</th><th>channel</th>
<th>bundle</th><th>last check-in</th></tr>{devices}</table>
<h2>Updates per hour (last 24 h)</h2>{_chart(data["updates_per_hour"])}
</body></html>
"""
