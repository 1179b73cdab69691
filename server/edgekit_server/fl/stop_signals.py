"""SIGTERM and SIGHUP stop ``edgekit-fl`` the way Ctrl-C does: through the clean-up path.

Python's default for SIGTERM and SIGHUP ends the process at once, so the ``finally`` blocks and
context managers that stop a deployment's SuperLink, SuperNodes and their helpers never run and
those processes (each in a session of its own) live on. :func:`stop_on_signals` turns either
signal into :class:`Stopped`, raised in the main thread wherever it is, which unwinds like a
``KeyboardInterrupt`` (a ``BaseException``: no ``except Exception`` swallows it). Once the first
stop signal arrived, further ones are ignored so that they cannot cut the clean-up short; the
previous handlers come back when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

__all__ = ["STOP_SIGNALS", "Stopped", "stop_on_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived (``signum``); raised to run the same clean-up as Ctrl-C."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


@contextmanager
def stop_on_signals(signals: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, each of ``signals`` raises :class:`Stopped` in the main thread.

    Outside the main thread (where Python cannot install handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        for sig in signals:  # the clean-up that Stopped starts must not be interrupted
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
