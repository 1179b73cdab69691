"""``python -m edgekit.cli``: the ``edgekit`` command line."""

from edgekit.cli import main

main()
