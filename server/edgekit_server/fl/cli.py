"""``edgekit-fl``: build a federation workspace and run the Flower app on either engine.

    edgekit-fl build runs/fed --dataset kws          # corpus, pretrained bundles, client data
    edgekit-fl simulate runs/fed --rounds 30          # Simulation Engine (flwr run, Ray)
    edgekit-fl deploy runs/fed --rounds 3             # Deployment Engine: a SuperLink on
                                                      # 127.0.0.1:8000 + one SuperNode per client
    edgekit-fl demo                                   # the federated stage of `make demo`

With ``--hub http://127.0.0.1:8080 --hub-token-file admin.token --hub-archs tcresnet`` a hub
(``edgekit-hub serve``) takes part with one node per architecture its phones run: the hub's
phone updates go into the federation and each round's result becomes a hub version.

Each prints the accuracy per round (from ``<workspace>/server/results.json``). Flower's own
files (config, logs, SuperLink state) go to ``<workspace>/flwr`` unless ``--flwr-home`` says
otherwise. Production deployments use TLS and SuperNode authentication: see engines.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgekit._quiet import quiet_dependencies
from edgekit.errors import ConfigError, EdgekitError
from edgekit_server.errors import FlowerError, WorkspaceError
from edgekit_server.fl.build import DATASETS, NEW_CLIPS, FederationConfig, build_federation
from edgekit_server.fl.engines import LocalDeployment, RunResult, run_simulation
from edgekit_server.fl.hub_bridge import HubSettings, with_hubs
from edgekit_server.fl.processes import check_port_free
from edgekit_server.fl.stop_signals import Stopped, stop_on_signals
from edgekit_server.fl.workspace import Workspace

__all__ = ["app", "main"]

APP_DIR = Path(__file__).resolve().parents[2]  # server/: the Flower app (pyproject.toml)
app = typer.Typer(
    help=__doc__.splitlines()[0],
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
Folder = Annotated[Path, typer.Argument(help="The federation workspace folder.")]
Rounds = Annotated[int, typer.Option(help="Federated rounds.")]
Impressions = Annotated[
    bool, typer.Option(help="Clients report new classes as data impressions (else standard FL).")
]
Home = Annotated[Path | None, typer.Option(help="FLWR_HOME (default: <workspace>/flwr).")]
HubUrl = Annotated[str, typer.Option("--hub", help="A hub taking part (its base URL).")]
HubToken = Annotated[
    Path | None, typer.Option(help="File holding the hub's admin token (with --hub).")
]
HubArchs = Annotated[
    str, typer.Option(help="Comma-separated architectures the hub's phones run (with --hub).")
]
HubFamily = Annotated[str, typer.Option(help="The hub's model family (with --hub).")]


@app.command()
def build(
    workspace: Folder,
    dataset: Annotated[str, typer.Option(help=f"One of {DATASETS}.")] = "kws",
    clients: Annotated[int, typer.Option(help="Clients (SuperNodes).")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the whole build.")] = 0,
    pretrain_seed: Annotated[
        int | None,
        typer.Option(help="Seed of the backbones' pretraining alone (default: --seed)."),
    ] = None,
    new_clips: Annotated[
        str,
        typer.Option(
            help=f"One of {NEW_CLIPS}: owners keep their own new-class clips, or get the "
            "clients' whole share of their new class."
        ),
    ] = "own",
) -> None:
    """Build (or reuse) a federation workspace from an offline corpus."""
    config = FederationConfig(
        dataset=dataset,
        n_clients=clients,
        seed=seed,
        new_clips=new_clips,
        pretrain_seed=pretrain_seed,
    )
    _check_folder(workspace, "the workspace")
    ws = build_federation(workspace, config)
    spec = ws.check()  # a reused workspace may have been damaged since it was built
    typer.echo(
        f"{ws.root}: {len(spec.clients)} clients on {spec.archs}; old classes "
        f"{spec.old_labels}; new classes held by {spec.extra['owners']}"
    )


def _check_folder(path: Path, what: str) -> None:
    """WorkspaceError if ``path``, or the nearest of its parents that exists, is a file."""
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                raise WorkspaceError(f"{what} {path} cannot be a folder: {existing} is a file")
            return


def _run_config(
    ws: Workspace, rounds: int, impressions: bool, hubs: HubSettings
) -> dict[str, int | str | bool]:
    config: dict[str, int | str | bool] = {
        "workspace": str(ws.root),
        "num-server-rounds": rounds,
        "impressions": impressions,
    }
    if hubs.url:
        config |= {
            "hub-url": hubs.url,
            "hub-token-file": hubs.token_file,
            "hub-family": hubs.family,
            "hub-archs": hubs.archs,
        }
    return config


def _hubs(ws: Workspace, url: str, token_file: Path | None, archs: str, family: str) -> HubSettings:
    """The hub settings of the options, checked against the workspace (ConfigError)."""
    if not url:
        return HubSettings()
    if token_file is None or not token_file.is_file():
        raise ConfigError(f"--hub-token-file must name the admin token's file, got {token_file}")
    hubs = HubSettings(url, str(token_file.resolve()), family, archs)
    with_hubs(ws.spec(), hubs)  # every architecture is one of the workspace's
    return hubs


def _workspace(folder: Path, flwr_home: Path | None, port: int | None = None) -> Workspace:
    """The workspace at ``folder``, its earlier run forgotten: only once every file a run reads
    is intact (WorkspaceError), ``flwr_home`` can be a folder and ``port`` is free (FlowerError),
    so that a command refused leaves the workspace as it was (an earlier run may still use it)."""
    ws = Workspace(folder)
    ws.check()
    home = flwr_home or ws.root / "flwr"
    _check_folder(home, "--flwr-home")
    if port is not None:
        check_port_free(port)
    ws.reset_run()
    return ws


def _report(ws: Workspace, result: RunResult) -> None:
    if not result.ok:
        typer.echo(result.log[-3000:], err=True)
        raise FlowerError(f"run {result.run_id}: {result.status} {result.details}")
    path = ws.server_dir / "results.json"
    try:
        results = json.loads(path.read_text())
        rounds = list(results["rounds"])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise WorkspaceError(f"{path} is not the run's results ({exc})") from exc
    for r in rounds:
        typer.echo(
            f"round {r['round']:>3}: accuracy {r['acc']:.2f}% (old classes "
            f"{r['acc_old']:.2f}%, new {r['acc_new']:.2f}%), {r['clients']} clients"
        )
    typer.echo(f"registry: {results.get('registry')}; finished in {result.seconds:.0f} s")


@app.command()
def simulate(
    workspace: Folder,
    rounds: Rounds = 30,
    impressions: Impressions = True,
    flwr_home: Home = None,
    hub: HubUrl = "",
    hub_token_file: HubToken = None,
    hub_archs: HubArchs = "",
    hub_family: HubFamily = "kws",
) -> None:
    """Run the federation on Flower's Simulation Engine (one SuperNode per client and per hub
    architecture)."""
    hubs = _hubs(Workspace(workspace), hub, hub_token_file, hub_archs, hub_family)
    ws = _workspace(workspace, flwr_home)
    result = run_simulation(
        APP_DIR,
        flwr_home or ws.root / "flwr",
        len(with_hubs(ws.spec(), hubs).clients),
        _run_config(ws, rounds, impressions, hubs),
    )
    _report(ws, result)


@app.command()
def deploy(
    workspace: Folder,
    rounds: Rounds = 3,
    impressions: Impressions = True,
    port: Annotated[int, typer.Option(help="The SuperLink's port.")] = 8000,
    flwr_home: Home = None,
    hub: HubUrl = "",
    hub_token_file: HubToken = None,
    hub_archs: HubArchs = "",
    hub_family: HubFamily = "kws",
) -> None:
    """Run the federation on Flower's Deployment Engine: a SuperLink and one SuperNode process
    per client (and per hub architecture) on loopback, stopped when the run ends."""
    hubs = _hubs(Workspace(workspace), hub, hub_token_file, hub_archs, hub_family)
    ws = _workspace(workspace, flwr_home, port)
    clients = with_hubs(ws.spec(), hubs).clients
    nodes = [{"partition-id": c.id, "num-partitions": len(clients)} for c in clients]
    with LocalDeployment(flwr_home or ws.root / "flwr", nodes, port=port) as deployment:
        typer.echo(f"SuperLink on 127.0.0.1:{port}, {len(nodes)} SuperNodes connected")
        result = deployment.run(APP_DIR, _run_config(ws, rounds, impressions, hubs))
    _report(ws, result)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where outputs go.")] = Path("runs/demo/federation"),
    rounds: Annotated[int | None, typer.Option(help="Federated rounds (default: the demo's).")] = (
        None
    ),
    pretrain_seed: Annotated[
        int | None,
        typer.Option(help="Pretrain the backbones at another seed (same corpus and phones)."),
    ] = None,
) -> None:
    """The federated stage of `make demo`: phones on three architectures, one new word."""
    _check_folder(workdir, "--workdir")  # before the round loop's seconds of imports
    from edgekit_server.fl.demo import run_demo

    typer.echo(json.dumps(run_demo(workdir, rounds, pretrain_seed), indent=2))


def main() -> None:
    """Entry point: user errors print one line and exit 2; bugs keep their traceback. SIGTERM
    and SIGHUP stop every process a command started, as Ctrl-C does; the exit status is then
    128 + the signal's number, as a shell reports a process the signal ended."""
    quiet_dependencies()
    try:
        with stop_on_signals():
            app()
    except EdgekitError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Stopped as stop:
        typer.secho(f"edgekit-fl: {stop}, every process it started is stopped", err=True)
        sys.exit(128 + stop.signum)


if __name__ == "__main__":
    main()
