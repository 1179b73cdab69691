"""A fork server for the kill test: it imports the command line once, then runs every command
sent to it (one JSON line: ``[argv, log path]``) in a forked child, a real process that runs
``edgekit ARGV`` with its stdout and stderr in the log, and answers the child's pid. A test can
then SIGKILL many runs without paying Python's and torch's start-up for each. The child appends
``EXIT <status>`` to its log when the command returns.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import edgekit.cli  # what the commands need, loaded once (nothing runs before a fork)
import edgekit.data.loaders
import edgekit.device
from edgekit.runtime import PORTABLE_LIB, TRAINING, runtime_module

for _name in (PORTABLE_LIB, TRAINING):  # the runtime's libraries: loaded, nothing run
    runtime_module(_name)


def _child(argv: list[str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 1
    try:
        edgekit.cli.main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, f"\nEXIT {code}\n".encode())
        os._exit(code)


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    for line in sys.stdin:
        argv, log = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(argv, log)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
