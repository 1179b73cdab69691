"""edgekit's server side: the Flower app (``fl``) and the device hub (``hub``).

Installed as its own distribution (``server/pyproject.toml``) on top of the ``edgekit`` SDK, so
every import points down: ``edgekit_server`` imports ``edgekit``, never the other way.
"""

from __future__ import annotations

__all__: list[str] = []
