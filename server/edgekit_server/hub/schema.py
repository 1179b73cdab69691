"""The hub's tables (SQLAlchemy). Alembic's migrations (``migrations/``) create and change them;
a test holds the two together, so a model changed without its migration fails the suite."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Device", "Rejection", "ReleaseRow", "UpdateRow", "Version", "VersionFile"]


class Base(DeclarativeBase):
    pass


class Version(Base):
    """A published bundle version: its signed metadata (a blob) and signature."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("family", "architecture", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    metadata_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionFile(Base):
    """One file of a version, stored as the blob of its sha256."""

    __tablename__ = "version_files"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


class ReleaseRow(Base):
    """A version released on a channel to a share of its devices."""

    __tablename__ = "releases"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(64), primary_key=True)
    architecture: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    percent: Mapped[float] = mapped_column(Float)


class Device(Base):
    """A registered device, its token's hash (never the token) and its last check-in."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bundle_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    battery: Mapped[float | None] = mapped_column(Float, nullable=True)
    charging: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    wifi: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)


class UpdateRow(Base):
    """A device's trainable weights (a blob) after training from ``version``; ``state`` is
    ``pending`` until a flush applies or drops it (``flushed_into``: the version it made)."""

    __tablename__ = "updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    family: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    weights_sha256: Mapped[str] = mapped_column(String(64))
    examples: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))
    flushed_into: Mapped[int | None] = mapped_column(Integer, nullable=True)
    d0_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)  # from its D0 scores


class Rejection(Base):
    """An update refused, with why (counted, never silently lost)."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
