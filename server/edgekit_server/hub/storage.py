"""The hub's storage behind one interface: SQLAlchemy on SQLite (a file, the default) or
PostgreSQL (by URL), its schema brought to the newest migration (Alembic) when opened.

What it keeps: published versions (family, architecture, number, the sha256 of their signed
metadata and its signature, the sha256 and size of every file), releases on channels with their
rollout share, and devices (their token's sha256, never the token, and their last check-in).
Version numbers only grow within a family and architecture, so a device, which refuses a lower
number, always takes what is published next.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edgekit_server.errors import StorageConflict
from edgekit_server.hub.rollout import Release
from edgekit_server.hub.schema import Device, Rejection, ReleaseRow, UpdateRow, Version, VersionFile

__all__ = ["CheckIn", "PublishedVersion", "Storage", "StoredUpdate", "sqlite_url", "utc"]

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(folder: Path) -> str:
    """The default database: ``hub.sqlite3`` under the hub's data folder."""
    return f"sqlite:///{(folder / 'hub.sqlite3').resolve()}"


@dataclass(frozen=True)
class PublishedVersion:
    family: str
    architecture: str
    number: int
    metadata_sha256: str
    signature: bytes
    files: dict[str, tuple[str, int]]  # path -> (sha256, size)
    published_at: datetime


@dataclass(frozen=True)
class CheckIn:
    """What a device reports when it checks in (None: not reported)."""

    app_version: str | None = None
    bundle_version: int | None = None
    free_bytes: int | None = None
    battery: float | None = None  # 0-1
    charging: bool | None = None
    wifi: bool | None = None
    accuracy: float | None = None  # 0-1, on the device's own clips, with the bundle it runs


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    device_id: str
    version: int  # trained from
    weights_sha256: str  # the uploaded .npz, a blob
    examples: int


class Storage:
    """One database: open it with its URL; its schema is migrated to the newest on opening."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with Session(self.engine) as session, session.begin():
            yield session

    # ---------------------------------------------------------------- versions
    def publish(
        self,
        family: str,
        architecture: str,
        number: int,
        metadata_sha256: str,
        signature: bytes,
        files: Mapping[str, tuple[str, int]],
        settles: tuple[Sequence[int], Sequence[int]] | None = None,
    ) -> PublishedVersion:
        """Record a version; a number not above every published one of the same family and
        architecture raises StorageConflict (devices would never take it). ``settles``: the
        updates it applies and drops, marked in the same transaction, so that a crash never
        leaves a version made of updates still pending (applied twice) or the reverse."""
        now = datetime.now(UTC)
        try:
            with self.session() as s:
                latest = s.scalar(
                    select(func.max(Version.number)).where(
                        Version.family == family, Version.architecture == architecture
                    )
                )
                if latest is not None and number <= latest:
                    raise StorageConflict(
                        f"{family}/{architecture} has version {latest}: publish a number above it"
                    )
                row = Version(
                    family=family,
                    architecture=architecture,
                    number=number,
                    metadata_sha256=metadata_sha256,
                    signature=signature,
                    published_at=now,
                )
                s.add(row)
                s.flush()
                for path, (sha, size) in files.items():
                    s.add(VersionFile(version_id=row.id, path=path, sha256=sha, size=size))
                if settles is not None:
                    _settle(s, settles[0], "applied", number)
                    _settle(s, settles[1], "dropped", number)
        except IntegrityError as exc:  # another publisher took the number meanwhile
            raise StorageConflict(f"{family}/{architecture} version {number} exists") from exc
        return PublishedVersion(
            family, architecture, number, metadata_sha256, signature, dict(files), now
        )

    def version(self, family: str, architecture: str, number: int) -> PublishedVersion | None:
        with self.session() as s:
            row = s.scalar(
                select(Version).where(
                    Version.family == family,
                    Version.architecture == architecture,
                    Version.number == number,
                )
            )
            if row is None:
                return None
            files = s.scalars(select(VersionFile).where(VersionFile.version_id == row.id))
            return PublishedVersion(
                row.family,
                row.architecture,
                row.number,
                row.metadata_sha256,
                row.signature,
                {f.path: (f.sha256, f.size) for f in files},
                utc(row.published_at),
            )

    def numbers(self, family: str, architecture: str) -> list[int]:
        """Every published version number, ascending."""
        with self.session() as s:
            query = select(Version.number).where(
                Version.family == family, Version.architecture == architecture
            )
            return sorted(s.scalars(query))

    # ---------------------------------------------------------------- releases
    def release(
        self, channel: str, family: str, architecture: str, number: int, percent: float
    ) -> None:
        """Release a published version on ``channel`` to ``percent`` of its devices (again:
        change the share); an unpublished version raises StorageConflict."""
        Release(number, percent)  # refuses a share out of range
        if self.version(family, architecture, number) is None:
            raise StorageConflict(f"{family}/{architecture} has no version {number}")
        with self.session() as s:
            row = s.get(ReleaseRow, (channel, family, architecture, number))
            if row is None:
                row = ReleaseRow(
                    channel=channel, family=family, architecture=architecture, number=number
                )
                s.add(row)
            row.percent = percent

    def releases(self, channel: str, family: str, architecture: str) -> list[Release]:
        with self.session() as s:
            rows = s.scalars(
                select(ReleaseRow).where(
                    ReleaseRow.channel == channel,
                    ReleaseRow.family == family,
                    ReleaseRow.architecture == architecture,
                )
            )
            return sorted((Release(r.number, r.percent) for r in rows), key=lambda r: r.version)

    def released_blob(self, channel: str, family: str, architecture: str, sha256: str) -> bool:
        """Whether blob ``sha256`` is the metadata or a file of a version released on
        ``channel`` for that family and architecture (one query: it guards every download)."""
        released = (
            select(Version.id, Version.metadata_sha256)
            .join(
                ReleaseRow,
                (ReleaseRow.family == Version.family)
                & (ReleaseRow.architecture == Version.architecture)
                & (ReleaseRow.number == Version.number),
            )
            .where(
                ReleaseRow.channel == channel,
                Version.family == family,
                Version.architecture == architecture,
            )
            .subquery()
        )
        query = select(released.c.id).where(
            (released.c.metadata_sha256 == sha256)
            | released.c.id.in_(select(VersionFile.version_id).where(VersionFile.sha256 == sha256))
        )
        with self.session() as s:
            return s.execute(query.limit(1)).first() is not None

    def channels_of(self, family: str, architecture: str, number: int) -> list[tuple[str, float]]:
        """The channels that version ``number`` is released on, with its share on each."""
        with self.session() as s:
            rows = s.scalars(
                select(ReleaseRow).where(
                    ReleaseRow.family == family,
                    ReleaseRow.architecture == architecture,
                    ReleaseRow.number == number,
                )
            )
            return sorted((r.channel, r.percent) for r in rows)

    # ----------------------------------------------------------------- devices
    def register(
        self, device_id: str, token_sha256: str, family: str, architecture: str, channel: str
    ) -> None:
        """A new device; an id or token already known raises StorageConflict."""
        try:
            with self.session() as s:
                s.add(
                    Device(
                        id=device_id,
                        token_sha256=token_sha256,
                        family=family,
                        architecture=architecture,
                        channel=channel,
                        registered_at=datetime.now(UTC),
                    )
                )
        except IntegrityError as exc:
            raise StorageConflict(f"device {device_id} (or its token) is registered") from exc

    def device_for_token(self, token_sha256: str) -> Device | None:
        with self.session() as s:
            device = s.scalar(select(Device).where(Device.token_sha256 == token_sha256))
            if device is not None:
                s.expunge(device)
            return device

    def check_in(self, device_id: str, report: CheckIn) -> None:
        """Keep what the device reported and when; an unknown device raises StorageConflict."""
        with self.session() as s:
            device = s.get(Device, device_id)
            if device is None:
                raise StorageConflict(f"no device {device_id}")
            device.last_seen = datetime.now(UTC)
            for name, value in vars(report).items():
                setattr(device, name, value)

    # ----------------------------------------------------------------- updates
    def add_update(
        self,
        device_id: str,
        family: str,
        architecture: str,
        version: int,
        weights_sha256: str,
        examples: int,
        d0_accuracy: float | None = None,
    ) -> int:
        """Keep an accepted update (pending); its id."""
        with self.session() as s:
            row = UpdateRow(
                device_id=device_id,
                family=family,
                architecture=architecture,
                version=version,
                weights_sha256=weights_sha256,
                examples=examples,
                received_at=datetime.now(UTC),
                state="pending",
                d0_accuracy=d0_accuracy,
            )
            s.add(row)
            s.flush()
            return row.id

    def pending(self, family: str, architecture: str) -> list[StoredUpdate]:
        """The updates waiting for a flush, oldest first."""
        with self.session() as s:
            rows = s.scalars(
                select(UpdateRow)
                .where(
                    UpdateRow.family == family,
                    UpdateRow.architecture == architecture,
                    UpdateRow.state == "pending",
                )
                .order_by(UpdateRow.id)
            )
            return [
                StoredUpdate(r.id, r.device_id, r.version, r.weights_sha256, r.examples)
                for r in rows
            ]

    def settle(self, dropped: Sequence[int]) -> None:
        """Mark updates dropped without a new version (all were too stale)."""
        with self.session() as s:
            _settle(s, dropped, "dropped", None)

    def reject(self, device_id: str, reason: str, detail: str) -> None:
        """Count a refused update."""
        with self.session() as s:
            s.add(
                Rejection(
                    device_id=device_id, reason=reason, detail=detail[:500], at=datetime.now(UTC)
                )
            )

    def counts(self) -> dict[str, dict[str, int]]:
        """Updates by state and refusals by reason."""
        with self.session() as s:
            states = s.execute(select(UpdateRow.state, func.count()).group_by(UpdateRow.state))
            reasons = s.execute(select(Rejection.reason, func.count()).group_by(Rejection.reason))
            return {
                "updates": {str(k): int(v) for k, v in states},
                "rejected": {str(k): int(v) for k, v in reasons},
            }


def _settle(s: Session, ids: Sequence[int], state: str, into: int | None) -> None:
    for row in s.scalars(select(UpdateRow).where(UpdateRow.id.in_(list(ids)))):
        row.state, row.flushed_into = state, into


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive times: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SQLITE_BUSY_MS = 30_000  # a writer waits this long for the lock (SQLAlchemy's pool waits 30 s too)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    """Foreign keys on; write-ahead logging, so that readers and the one writer never wait for
    each other (a commit in the default rollback journal waits for every reader to finish, and
    blocks new ones); a writer waits up to ``SQLITE_BUSY_MS`` for another to commit, where
    SQLite's default gives up with "database is locked" after 5 s."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file; synchronous stays FULL
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()
