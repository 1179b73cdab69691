"""The ``edgekit`` command line. Every command takes plain folders and prints what it did.

The commands live by what they work on: :mod:`~edgekit.cli.data` (corpora),
:mod:`~edgekit.cli.model` (pretrain, plan, export), :mod:`~edgekit.cli.device` (a bundle run
as a device runs it) and :mod:`~edgekit.cli.detect` (keywords in long recordings). :func:`main`
is the entry point of the ``edgekit`` script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgekit._quiet import quiet_dependencies
from edgekit.cli import data, detect, device, model
from edgekit.cli.options import Seed
from edgekit.errors import EdgekitError

__all__ = ["app", "main"]

app = typer.Typer(
    help="edgekit: train speech and sound models on the phone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
for command in (
    model.pretrain,
    model.plan,
    model.export,
    device.info,
    device.personalize,
    device.evaluate,
    device.predict,
    device.enroll,
    detect.detect,
):
    app.command()(command)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where outputs go.")] = Path("runs/demo"),
    corpus: Annotated[Path, typer.Option(help="Generated corpus folder.")] = Path(
        "datasets/generated/kws"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    seed: Seed = 0,
) -> None:
    """Run the main job end to end on built-in defaults."""
    from edgekit.demo import run_demo

    summary = run_demo(workdir=workdir, corpus=corpus, epochs=epochs, seed=seed)
    typer.echo(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> None:
    """Entry point: a user error (an :class:`~edgekit.errors.EdgekitError`) prints one
    ``error:`` line on stderr and exits 2; anything else is a bug and keeps its traceback.

    ``argv``: the arguments (default: the process's own).
    """
    quiet_dependencies()
    try:
        app(args=argv)
    except EdgekitError as exc:
        typer.secho(f"error: {one_line(exc)}", fg=typer.colors.RED, err=True)
        sys.exit(2)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a wrapped library message can span several)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
