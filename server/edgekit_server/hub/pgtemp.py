"""A local, throw-away PostgreSQL cluster for the hub's tests and benchmarks: Debian's server
binaries (``make setup`` installs them), a data folder and a Unix socket in a fresh temporary
folder, no TCP. As root (CI), the server runs as the ``postgres`` user, which initdb and the
server require. Not for keeping data: :meth:`Cluster.stop` deletes everything."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Cluster"]


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "`make setup` installs Debian's postgresql"
        )
    return Path(found[-1]).parent


class Cluster:
    """``Cluster()`` starts a server; :meth:`database` makes an empty database and gives its
    SQLAlchemy URL; :meth:`stop` ends the server and removes its files. ``fsync``: off by
    default (fast tests; a crash loses nothing worth keeping); on for a benchmark that compares
    it with SQLite's durable commits."""

    def __init__(self, fsync: bool = False) -> None:
        self.bin = _bin()
        self.root = Path(tempfile.mkdtemp(prefix="edgekit-pg-"))
        self.port = 5432
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "hub", "-N")
        options = f"-k {self.root} -c listen_addresses='' -p {self.port}" + ("" if fsync else " -F")
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", log, "-w", "start")
        self.count = 0

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def database(self) -> str:
        self.count += 1
        name = f"hub{self.count}"
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "hub", name)
        return f"postgresql+psycopg://hub@/{name}?host={self.root}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
