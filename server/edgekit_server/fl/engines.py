"""Run a Flower app on Flower 1.42's two engines as real processes, and always clean up.

The Simulation Engine runs every ClientApp in one Ray-backed process on this machine::

    result = run_simulation(app_dir, flwr_home, num_supernodes=10, run_config={"lr": 0.1})
    assert result.ok, result.details

The Deployment Engine runs one SuperLink and one SuperNode process per node, here all on
loopback; the same app runs unchanged::

    nodes = [{"partition-id": i, "num-partitions": 3} for i in range(3)]
    with LocalDeployment(flwr_home, nodes) as deployment:
        result = deployment.run(app_dir, {"num-server-rounds": 5})

Both go through Flower's own CLI (``flwr run``, ``flwr log --stream``, ``flwr list``) with
``FLWR_HOME=flwr_home``: that folder holds ``config.toml`` (written by :func:`write_config`), the
installed apps, the SuperLink's state and, by default, the processes' logs (``flwr_home/logs``).
Use one engine per ``flwr_home`` at a time. Every process started here is tagged through its
environment, and its children inherit the tag (Ray's helpers included). When a run ends, fails,
times out or is interrupted, the engine stops them all (SIGTERM, then SIGKILL after a grace
period) and returns only once none is alive (Linux ``/proc``), so the next run starts clean.

Production: the loopback deployment is insecure (no TLS, any SuperNode may connect). A real
federation starts the SuperLink with TLS, ``--ssl-ca-certfile ca.crt --ssl-certfile server.pem
--ssl-keyfile server.key``, and optionally ``--enable-supernode-auth`` (needs TLS) so that only
registered SuperNodes connect; each SuperNode trusts the CA with ``--root-certificates ca.crt`` and
signs in with ``--auth-supernode-private-key <OpenSSH ECDSA private key>`` after its public key
was registered with ``flwr supernode register <public key> <connection>``. The connection in
``config.toml`` then reads ``root-certificates = "<absolute path of ca.crt>"`` instead of
``insecure = true``.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from edgekit.errors import ConfigError
from edgekit_server.errors import FlowerError
from edgekit_server.fl.processes import (
    DEPLOY,
    LOCAL,
    NodeConfig,
    RunConfig,
    RunResult,
    Session,
    check_port_free,
    config_arg,
    free_port,
    parse_json,
    signal_group,
    stop_process,
    tail,
    wait_healthy,
)

__all__ = [
    "LocalDeployment",
    "RunResult",
    "free_port",
    "run_simulation",
    "write_config",
]


def write_config(flwr_home: Path, deploy_address: str | None = None) -> Path:
    """Write ``flwr_home/config.toml``: the simulation connection, and a deployment one.

    ``deploy_address`` (``"host:port"``) adds an insecure connection named ``deploy``.
    """
    lines = [
        "[superlink]",
        f'default = "{LOCAL}"',
        "",
        f"[superlink.{LOCAL}]",
        'address = ":local:"',
    ]
    if deploy_address is not None:
        lines += ["", f"[superlink.{DEPLOY}]", f'address = "{deploy_address}"', "insecure = true"]
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = flwr_home / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_simulation(
    app_dir: Path,
    flwr_home: Path,
    num_supernodes: int,
    run_config: RunConfig | None = None,
    cpus_per_client: int = 1,
    timeout: float = 1800.0,
    log_dir: Path | None = None,
) -> RunResult:
    """Run the app at ``app_dir`` on the Simulation Engine and return how the run ended.

    Starts a SuperLink in simulation mode on a free port of its own, submits the run with
    ``flwr run``, follows its log and stops every process it started before returning (also on
    a timeout, an error or Ctrl-C). ``cpus_per_client`` is a whole number of CPUs (Flower's
    ``client-resources-num-cpus`` is an integer); with 2 cores, 1 lets two ClientApps run at once.
    Raises FlowerError when the SuperLink does not start, the run cannot be submitted or it does
    not finish within ``timeout`` seconds.
    """
    if num_supernodes < 1:
        raise ConfigError(f"num_supernodes must be >= 1, got {num_supernodes}")
    if cpus_per_client < 1:
        raise ConfigError(f"cpus_per_client must be a whole number >= 1, got {cpus_per_client}")
    app_dir = _check_app(app_dir)
    if not (flwr_home / "config.toml").exists():
        write_config(flwr_home)
    port = free_port()
    # The `:local:` connection talks to the port in this variable and starts a detached SuperLink
    # there only when none answers: starting ours first keeps it a child that we can stop.
    session = Session(flwr_home, log_dir, FLWR_LOCAL_SUPERLINK_HTTP_API_PORT=str(port))
    database = session.flwr_home / "local-superlink" / "state.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    command = ["flower-superlink", "--insecure", "--simulation", "--isolation", "subprocess"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--database", str(database)]
    superlink = session.start(command, f"superlink-simulation-{port}")
    try:
        wait_healthy(superlink, port, timeout=60.0)
        federation = f"num-supernodes={num_supernodes} client-resources-num-cpus={cpus_per_client}"
        return session.run(app_dir, LOCAL, run_config, timeout, "--federation-config", federation)
    finally:
        # Killing the SuperLink mid-run would orphan flwr-simulation and Ray: stop them first.
        try:
            session.sweep({"flwr-simulation"})
        finally:
            stop_process(superlink)
            session.sweep()


class LocalDeployment:
    """A SuperLink and one SuperNode per node config, as processes on loopback.

    ``node_configs[i]`` becomes SuperNode i's ``--node-config`` (what a ClientApp reads from
    ``context.node_config``). ``port`` is the SuperLink's port (a free one by default). Each
    process writes to ``log_dir`` (``flwr_home/logs`` by default): ``superlink.log`` and
    ``supernode-<i>.log``, which holds the ClientApps' output. Entering rewrites
    ``flwr_home/config.toml`` (connection ``deploy``), starts everything and waits until every
    SuperNode is online; leaving stops everything.
    """

    def __init__(
        self,
        flwr_home: Path,
        node_configs: Sequence[NodeConfig],
        port: int | None = None,
        log_dir: Path | None = None,
        start_timeout: float = 120.0,  # seconds to wait for the SuperLink and all SuperNodes
    ) -> None:
        if not node_configs:
            raise ConfigError("node_configs must name at least one SuperNode, got none")
        if port is not None and not 0 < port < 65536:
            raise ConfigError(f"port must be in 1..65535, got {port}")
        self.flwr_home = flwr_home
        self.node_configs = list(node_configs)
        self.port = port
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        self._session: Session | None = None
        self._superlink: subprocess.Popen[bytes] | None = None
        self._supernodes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LocalDeployment:
        """Start the SuperLink and the SuperNodes; wait until every SuperNode is online."""
        if self._session is not None:
            raise FlowerError("this LocalDeployment is already running")
        port = self.port if self.port is not None else free_port()
        check_port_free(port)
        self.port = port
        write_config(self.flwr_home, deploy_address=f"127.0.0.1:{port}")
        self._session = session = Session(self.flwr_home, self.log_dir)
        try:
            command = ["flower-superlink", "--insecure", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--database", str(session.flwr_home / "state.db")]
            command += ["--disable-runtime-dependency-installation"]
            self._superlink = session.start(command, "superlink")
            deadline = time.monotonic() + self.start_timeout
            wait_healthy(self._superlink, port, timeout=self.start_timeout)
            for i, node_config in enumerate(self.node_configs):
                command = ["flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{port}"]
                command += ["--port", str(free_port()), "--node-config", config_arg(node_config)]
                self._supernodes.append(session.start(command, f"supernode-{i}"))
            self._wait_for_nodes(session, deadline)
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the SuperNodes, then the SuperLink; leave no process behind."""
        self._shutdown()

    def run(
        self, app_dir: Path, run_config: RunConfig | None = None, timeout: float = 1800.0
    ) -> RunResult:
        """Run the app at ``app_dir`` on this deployment and return how the run ended.

        Raises FlowerError when the run cannot be submitted or does not finish within
        ``timeout`` seconds (the run is then stopped; the deployment keeps running).
        """
        if self._session is None:
            raise FlowerError("LocalDeployment.run needs a running deployment: use `with`")
        return self._session.run(_check_app(app_dir), DEPLOY, run_config, timeout)

    def _wait_for_nodes(self, session: Session, deadline: float) -> None:
        """Wait until all SuperNodes are online at the SuperLink, or raise FlowerError."""
        names = ["superlink"] + [f"supernode-{i}" for i in range(len(self._supernodes))]
        processes = dict(zip(names, [self._superlink, *self._supernodes], strict=True))
        logs = {name: session.log_dir / f"{name}.log" for name in names}
        online = 0
        while time.monotonic() < deadline:
            for name, process in processes.items():
                if process is not None and process.poll() is not None:
                    code = process.returncode
                    raise FlowerError(f"{name} exited with code {code}:\n{tail(logs[name])}")
            # A SuperNode logs its id once the SuperLink registered it; ask the SuperLink then.
            if all("SuperNode ID" in tail(logs[name], 1_000_000) for name in names[1:]):
                listing = session.flwr("supernode", "list", DEPLOY, "--format", "json")
                nodes = parse_json(listing.stdout).get("nodes") or []
                online = sum(node.get("status") == "online" for node in nodes)
                if online >= len(self._supernodes):
                    return
            time.sleep(0.5)
        raise FlowerError(
            f"{online} of {len(self._supernodes)} SuperNodes online after "
            f"{self.start_timeout:.0f} s:\n" + "\n".join(tail(log) for log in logs.values())
        )

    def _shutdown(self) -> None:
        """SIGTERM the SuperNodes, then the SuperLink (SIGKILL after GRACE_S); then every other
        process they started, until none is alive."""
        for process in self._supernodes:
            signal_group(process, signal.SIGTERM)
        for process in [*self._supernodes, *filter(None, [self._superlink])]:
            stop_process(process)
        if self._session is not None:
            self._session.sweep()
        self._session, self._superlink, self._supernodes = None, None, []


def _check_app(app_dir: Path) -> Path:
    """Return ``app_dir`` as an absolute path, or raise if it holds no pyproject.toml."""
    app_dir = app_dir.resolve()
    if not (app_dir / "pyproject.toml").is_file():
        raise ConfigError(
            f"app_dir must be a Flower app folder with a pyproject.toml, got {app_dir}"
        )
    return app_dir
