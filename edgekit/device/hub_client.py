"""A device's client of the hub (``edgekit-hub serve``), on the standard library only: register,
check in, download an offered version (resumable), verify it against the pinned public key,
install it atomically, post training updates.

    client = HubClient("https://hub.example", Path("device/hub"), load_public_key(PINNED))
    if client.device_id is None:
        client.register("kws", "tcresnet")          # once: the token is kept in <root>/hub.json
    if client.update(DeviceReport(charging=True, wifi=True)) is not None:
        ...                                         # a new version is at client.bundle
    client.post_update(update_body(learner), examples=len(clips))

Files under ``root``::

    hub.json                  hub URL, device id, token, family, architecture (mode 0600)
    current -> versions/<v>   the installed version: a symlink, replaced atomically
    previous -> versions/<v>  the last good version, kept until the next install (revert())
    versions/<v>/bundle/      a version's files, verified against its signed metadata
    versions/<v>/metadata.json, metadata.sig
    staging/<n>/              a download in progress: finished files and ``<file>.part``

Trust, in order: the signed metadata is fetched and checked first
(:func:`~edgekit.device.signed.verify_metadata`: signature over the received bytes, expiry,
model, no rollback below the installed number); each file is then fetched to the size and sha256
the *signed metadata* gives (the offer's own figures must agree, and are never used alone), a
``.part`` left by a cut continued with ``Range`` + ``If-Range`` (the hub's ETag is the sha256),
and hashed once complete; a file the installed version already has (same sha256, hashed again)
is copied instead of downloaded; the staged folder is verified whole
(:func:`~edgekit.device.signed.verify_files`) before ``current`` moves. Refusals raise
:class:`~edgekit.errors.UpdateRefused` with the reasons of :mod:`edgekit.device.signed`; failed
requests raise :class:`~edgekit.errors.HubError` (a 429 carries its ``retry_after``). The token
is sent to the hub's own scheme, host and port only: no redirects are followed, and an offered
URL elsewhere is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.parse
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekit.atomic import atomic_open, atomic_write_bytes, remove_path
from edgekit.device.hub_http import HubHttp, Traffic
from edgekit.device.signed import VersionMetadata, verify_files, verify_metadata
from edgekit.errors import ConfigError, HubError, UpdateRefused

__all__ = ["DeviceReport", "HubClient", "Offer", "OfferedFile", "Traffic"]

CHUNK = 1 << 16
IDENTITY = "hub.json"


@dataclass(frozen=True)
class DeviceReport:
    """What the device tells the hub at check-in (None: not reported). The client adds the
    installed version, and the free bytes at its root when ``free_bytes`` is None."""

    free_bytes: int | None = None
    battery: float | None = None  # charge, 0-1
    charging: bool | None = None
    wifi: bool | None = None  # False: on a metered network (large versions wait for Wi-Fi)
    accuracy: float | None = None  # 0-1, on the user's own clips
    app_version: str | None = None


@dataclass(frozen=True)
class OfferedFile:
    path: str
    sha256: str
    size: int
    url: str


@dataclass(frozen=True)
class Offer:
    """A version the hub offers; ``wait`` ("storage", "charging", "wifi") says not now, and why."""

    number: int
    metadata_url: str
    signature: bytes
    files: tuple[OfferedFile, ...]
    total_bytes: int
    wait: str | None

    @classmethod
    def parse(cls, raw: Any) -> Offer:
        try:
            files = tuple(
                OfferedFile(str(f["path"]), str(f["sha256"]), int(f["size"]), str(f["url"]))
                for f in raw["files"]
            )
            wait = raw.get("wait")
            return cls(
                int(raw["number"]),
                str(raw["metadata"]),
                bytes.fromhex(str(raw["signature"])),
                files,
                int(raw["total_bytes"]),
                None if wait is None else str(wait),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HubError("check-in", 200, f"the offer is not readable ({exc!r})") from None


class HubClient:
    """One device's connection to the hub at ``url``; its files live under ``root``, versions
    are accepted only when signed by ``public_key`` (32 bytes, see
    :func:`~edgekit.device.signed.load_public_key`)."""

    def __init__(
        self, url: str, root: Path | str, public_key: bytes, timeout: float = 60.0
    ) -> None:
        self.http = HubHttp(url, timeout)
        self.url = self.http.url
        if len(public_key) != 32:
            raise UpdateRefused("key", "the pinned public key must be 32 bytes")
        self.root, self.public_key = Path(root), public_key
        self.root.mkdir(parents=True, exist_ok=True)
        self.traffic: Traffic = self.http.traffic
        self.waiting: str | None = None  # the last offer's wait
        try:
            self._identity: dict[str, str] | None = json.loads((self.root / IDENTITY).read_text())
        except FileNotFoundError:
            self._identity = None
        if self.device_id is not None and self._identity:
            self.http.token = self._identity["token"]

    # ------------------------------------------------------------------ identity, installed
    @property
    def device_id(self) -> str | None:
        """The id this hub gave the device (None: not registered with it)."""
        ident = self._identity
        return ident["device_id"] if ident and ident["hub"] == self.url else None

    def register(self, family: str, architecture: str, channel: str = "stable") -> str:
        """Register as a device running ``family`` / ``architecture`` on ``channel``; its id."""
        body = {"family": family, "architecture": architecture, "channel": channel}
        reply = self.http.json("POST", "v1/devices", body, auth=False)
        ident = {"hub": self.url, "device_id": str(reply["device_id"]), "token": reply["token"]}
        ident |= {"family": family, "architecture": architecture, "channel": channel}
        with atomic_open(self.root / IDENTITY) as handle:
            os.fchmod(handle.fileno(), 0o600)  # the token is the device's password
            handle.write(json.dumps(ident).encode())
        self._identity, self.http.token = ident, ident["token"]
        return ident["device_id"]

    def installed(self) -> int | None:
        """The installed version's number (None: none yet)."""
        meta = self._installed_metadata()
        return None if meta is None else int(meta["version"])

    @property
    def bundle(self) -> Path | None:
        """The installed bundle's folder (None: none yet)."""
        folder = self.root / "current" / "bundle"
        return folder if folder.is_dir() else None

    # ---------------------------------------------------------------------- the protocol
    def check_in(self, report: DeviceReport | None = None) -> Offer | None:
        """Report the device's state; the version the hub offers, or None."""
        body = {k: v for k, v in asdict(report or DeviceReport()).items() if v is not None}
        body.setdefault("free_bytes", shutil.disk_usage(self.root).free)
        if (installed := self.installed()) is not None:
            body["bundle_version"] = installed
        raw = self.http.json("POST", "v1/devices/check-in", body)["offer"]
        offer = None if raw is None else Offer.parse(raw)
        self.waiting = None if offer is None else offer.wait
        return offer

    def update(self, report: DeviceReport | None = None) -> int | None:
        """Check in, and when a version is offered with nothing to wait for, download, verify
        and install it: its number, or None (nothing offered, or ``waiting`` says why not)."""
        offer = self.check_in(report)
        if offer is None or offer.wait is not None:
            return None
        return self.install(self.download(offer))

    def download(self, offer: Offer) -> Path:
        """Fetch ``offer`` into ``staging/<n>`` and verify it; the staged folder."""
        metadata = self.http.read(self.http.open("GET", offer.metadata_url), "metadata")
        meta = self._verify(metadata, offer.signature)
        urls = _urls(offer, meta)
        staging = self.root / "staging"
        stage = staging / str(meta.version)
        for other in staging.iterdir() if staging.is_dir() else ():
            if other != stage:  # an abandoned download of another version
                remove_path(other)
        (stage / "bundle").mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(stage / "metadata.json", metadata)
        atomic_write_bytes(stage / "metadata.sig", offer.signature)
        local = self._installed_files()
        for name, entry in sorted(meta.files.items()):
            target = stage / "bundle" / name
            if target.is_file() and _sha256(target) == entry.sha256:
                continue  # finished by an earlier, interrupted call
            target.parent.mkdir(parents=True, exist_ok=True)
            have = local.get(entry.sha256)
            if have is not None and have.is_file() and _sha256(have) == entry.sha256:
                shutil.copyfile(have, target)
                self.traffic.reused += entry.size
            else:
                self._fetch(urls[name], target, name, meta)
        for path in (stage / "bundle").rglob("*"):  # leftovers of another attempt
            if path.is_file() and path.relative_to(stage / "bundle").as_posix() not in meta.files:
                path.unlink()
        verify_files(meta, stage / "bundle")
        return stage

    def install(self, stage: Path) -> int:
        """Make the staged version current (checked again, then one atomic rename of the
        ``current`` link); the one it replaces becomes ``previous``. Its number."""
        meta = self._verify((stage / "metadata.json").read_bytes(), (stage / "metadata.sig"))
        verify_files(meta, stage / "bundle")
        versions = self.root / "versions"
        versions.mkdir(exist_ok=True)
        name = f"{meta.version}-{uuid.uuid4().hex[:8]}"
        os.rename(stage, versions / name)
        old = self._link("current")
        self._point("current", name)
        if old is not None and old != name:
            self._point("previous", old)
        for folder in versions.iterdir():
            if folder.name not in (name, old):
                remove_path(folder)
        return meta.version

    def revert(self) -> int | None:
        """Go back to the last good version (e.g. when the new one fails to load); its number,
        or None when there is none to go back to."""
        old = self._link("previous")
        if old is None or not (self.root / "versions" / old).is_dir():
            return None
        self._point("current", old)
        (self.root / "previous").unlink()
        return self.installed()

    def post_update(self, body: bytes, examples: int, version: int | None = None) -> dict[str, Any]:
        """Send a training update (:func:`edgekit.device.hub_update.update_body`) trained on
        ``examples`` clips from ``version`` (default: the installed one); the hub's reply."""
        version = self.installed() if version is None else version
        if version is None:
            raise ConfigError("no version is installed: an update is trained from one")
        query = urllib.parse.urlencode({"version": version, "examples": examples})
        return self.http.json("POST", f"v1/devices/updates?{query}", raw=body)

    # ----------------------------------------------------------------------- internals
    def _verify(self, metadata: bytes, signature: bytes | Path) -> VersionMetadata:
        ident = self._identity or {}
        sig = signature.read_bytes() if isinstance(signature, Path) else signature
        return verify_metadata(
            metadata,
            sig,
            self.public_key,
            installed=self.installed(),
            family=ident.get("family"),
            architecture=ident.get("architecture"),
        )

    def _installed_metadata(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.root / "current" / "metadata.json").read_bytes()))
        except FileNotFoundError:
            return None

    def _installed_files(self) -> dict[str, Path]:
        """sha256 -> the installed copy of that file."""
        meta = self._installed_metadata() or {"files": {}}
        folder = self.root / "current" / "bundle"
        return {entry["sha256"]: folder / name for name, entry in meta["files"].items()}

    def _link(self, name: str) -> str | None:
        try:
            return Path(os.readlink(self.root / name)).name
        except FileNotFoundError:
            return None

    def _point(self, link: str, version_folder: str) -> None:
        """``root/link`` -> ``versions/<version_folder>``, replaced in one rename."""
        tmp = self.root / f".{link}.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(f"versions/{version_folder}", tmp)
        os.replace(tmp, self.root / link)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _fetch(self, url: str, target: Path, name: str, meta: VersionMetadata) -> None:
        """Download one file into ``target``, continuing ``<target>.part`` if there is one; a
        resumed file that does not hash right is fetched whole once more."""
        entry, part = meta.files[name], target.with_name(target.name + ".part")
        for _ in range(2):
            have = part.stat().st_size if part.is_file() else 0
            if have > entry.size:
                part.unlink()
                have = 0
            if have < entry.size:
                self._stream(url, part, have, entry.size, entry.sha256)
            if _sha256(part) == entry.sha256:
                os.replace(part, target)
                return
            part.unlink()
            if have == 0:
                break  # a whole download that does not match: the hub's bytes are not these
        raise UpdateRefused("files", f"{name} does not match version {meta.version}'s sha256")

    def _stream(self, url: str, part: Path, have: int, size: int, sha256: str) -> None:
        headers = {"Range": f"bytes={have}-", "If-Range": f'"{sha256}"'} if have else {}
        try:
            reply = self.http.open("GET", url, headers=headers)
        except HubError as exc:
            if exc.status != 416 or not have:
                raise
            part.unlink()  # the hub has fewer bytes than the .part: start again
            return self._stream(url, part, 0, size, sha256)
        with reply:
            resumed = reply.status == 206
            if resumed and not str(reply.headers.get("Content-Range", "")).startswith(
                f"bytes {have}-"
            ):
                raise HubError(f"GET {url}", 206, "the hub sent another range than asked")
            written = have if resumed else 0
            with part.open("ab" if resumed else "wb") as out:
                try:
                    while chunk := reply.read(CHUNK):
                        self.traffic.down += len(chunk)
                        written += len(chunk)
                        if written > size:
                            part.unlink()
                            raise UpdateRefused("files", f"{url} sends more than {size} bytes")
                        out.write(chunk)
                except OSError as exc:  # a cut: what arrived stays in the .part
                    raise HubError(f"GET {url}", None, f"cut after {written} bytes: {exc}") from exc
                out.flush()
                os.fsync(out.fileno())
        if written < size:
            raise HubError(f"GET {url}", reply.status, f"cut after {written} of {size} bytes")


def _urls(offer: Offer, meta: VersionMetadata) -> dict[str, str]:
    """Each file's URL; the offer must list exactly the signed files, with their hashes."""
    offered = {f.path: f for f in offer.files}
    for name in sorted(set(offered) | set(meta.files)):
        f, entry = offered.get(name), meta.files.get(name)
        if f is None or entry is None or (f.sha256, f.size) != (entry.sha256, entry.size):
            raise UpdateRefused("files", f"the offer's {name} is not version {meta.version}'s")
    return {name: f.url for name, f in offered.items()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
