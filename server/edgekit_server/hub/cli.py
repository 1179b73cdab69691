"""edgekit-hub: the hub's signing key and signed bundle versions.

    edgekit-hub keygen keys/hub                       # keys/hub (private, 0600), keys/hub.pub
    edgekit-hub sign BUNDLE --key keys/hub --family kws --architecture tcresnet --version 3 \\
        --out release/3                               # release/3/metadata.json + metadata.sig
    edgekit-hub serve --key keys/hub --admin-token-file admin.token [--data hub-data]
        [--db postgresql+psycopg://...] [--host 127.0.0.1] [--port 8080]
    edgekit-hub fleet --devices 4 --rounds 3          # simulated devices against a hub

Devices pin the 64 hex digits of ``hub.pub`` and check a version with
``edgekit.device.signed.verify_metadata`` before they use it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import EdgekitError

__all__ = ["app", "main"]

# Seconds an idle connection stays open. uvicorn's default, 5 s, starts when the hub has handed a
# response to the kernel, not when the device has read it: a device still receiving (MBs of a
# file in socket buffers, a slow link, a busy phone) could send its next request as the hub
# closed the connection, and lose it. 75 s (nginx's default) outlasts that and httpx's own 5 s
# idle expiry, so clients close first.
KEEP_ALIVE_S = 75

app = typer.Typer(
    help=__doc__.splitlines()[0],
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def keygen(
    key: Annotated[Path, typer.Argument(help="Where the private key goes (.pub beside it).")],
) -> None:
    """Create an Ed25519 signing key pair; an existing key is never replaced."""
    from edgekit_server.hub.signing import generate_key

    public = generate_key(key)
    typer.echo(f"private key {key} (0600); public key {public}: {public.read_text().strip()}")


@app.command()
def sign(
    bundle: Annotated[Path, typer.Argument(help="An exported bundle folder.")],
    key: Annotated[Path, typer.Option(help="The private key from `edgekit-hub keygen`.")],
    family: Annotated[str, typer.Option(help="Model family, e.g. kws.")],
    architecture: Annotated[str, typer.Option(help="The bundle's architecture.")],
    version: Annotated[int, typer.Option(help="Version number, >= 1; devices refuse a lower one.")],
    out: Annotated[Path, typer.Option(help="Folder for metadata.json and metadata.sig.")],
    expires_days: Annotated[
        float, typer.Option(help="Days until devices stop accepting this version.")
    ] = 30.0,
) -> None:
    """Write a bundle version's signed metadata."""
    from edgekit_server.hub.signing import load_private_key, version_metadata
    from edgekit_server.hub.signing import sign as sign_bytes

    if version < 1 or expires_days <= 0:
        raise typer.BadParameter("--version must be >= 1 and --expires-days > 0")
    private = load_private_key(key)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=expires_days)
    metadata = version_metadata(bundle, family, architecture, version, expires)
    atomic_write_bytes(out / "metadata.json", metadata)
    atomic_write_bytes(out / "metadata.sig", sign_bytes(metadata, private))
    typer.echo(f"version {version} of {bundle}: {out}/metadata.json, expires {expires.isoformat()}")


@app.command()
def serve(
    key: Annotated[Path, typer.Option(help="The private key that signs published versions.")],
    admin_token_file: Annotated[
        Path, typer.Option(help="A file holding the admin token (publishing needs it).")
    ],
    data: Annotated[Path, typer.Option(help="Blobs, and the SQLite database by default.")] = Path(
        "hub-data"
    ),
    db: Annotated[
        str | None, typer.Option(help="Database URL (default: SQLite under --data).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    max_upload_mib: Annotated[float, typer.Option(help="Largest file an admin may upload.")] = 256,
    expires_days: Annotated[float, typer.Option(help="Validity of each signed version.")] = 30,
    buffer_k: Annotated[int, typer.Option(help="Device updates per aggregation.")] = 10,
    max_staleness: Annotated[
        int, typer.Option(help="Versions an update may lag before it is dropped.")
    ] = 5,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
) -> None:
    """Run the hub's HTTP API."""
    import uvicorn

    from edgekit_server.hub.app import create_app
    from edgekit_server.hub.blobs import BlobStore
    from edgekit_server.hub.buffered import BufferConfig
    from edgekit_server.hub.service import Hub
    from edgekit_server.hub.signing import load_private_key
    from edgekit_server.hub.storage import Storage, sqlite_url

    try:
        token = admin_token_file.read_text().strip()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {admin_token_file}: {exc}") from exc
    if len(token) < 16:
        raise typer.BadParameter("the admin token must be at least 16 characters")
    if max_upload_mib <= 0 or expires_days <= 0:
        raise typer.BadParameter("--max-upload-mib and --expires-days must be > 0")
    if (ssl_keyfile is None) != (ssl_certfile is None):
        raise typer.BadParameter("--ssl-keyfile and --ssl-certfile go together")
    try:
        buffer = BufferConfig(k=buffer_k, max_staleness=max_staleness)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    private = load_private_key(key)
    blobs = BlobStore(data / "blobs", int(max_upload_mib * (1 << 20)))
    blobs.clean()
    storage = Storage(db or sqlite_url(data))
    hub = Hub(storage, blobs, private, expires_days, buffer)
    uvicorn.run(
        create_app(hub, token),
        host=host,
        port=port,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_S,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
    )


@app.command()
def fleet(
    devices: Annotated[int, typer.Option(help="Device processes, each its own user.")] = 4,
    rounds: Annotated[
        int, typer.Option(help="Versions the devices train from (one more is made, picked up).")
    ] = 3,
    epochs: Annotated[int, typer.Option(help="Personalisation epochs per round.")] = 5,
    workdir: Annotated[
        Path, typer.Option(help="Data (reused), the hub and the devices' folders.")
    ] = Path("runs/fleet"),
    bundle: Annotated[
        Path | None, typer.Option(help="A bundle to publish (default: one pretrained here).")
    ] = None,
    clips: Annotated[
        Path | None, typer.Option(help="With --bundle: a folder of one .npz per device.")
    ] = None,
    hub: Annotated[
        str | None, typer.Option(help="A running hub's URL (default: start one).")
    ] = None,
    admin_token_file: Annotated[Path | None, typer.Option(help="With --hub.")] = None,
    public_key: Annotated[Path | None, typer.Option(help="With --hub: its .pub file.")] = None,
    reps: Annotated[int, typer.Option(help="Default data: renditions per keyword.")] = 8,
    pretrain_epochs: Annotated[int, typer.Option(help="Default data: pretraining.")] = 20,
    seed: Annotated[int, typer.Option(help="Corpus, pretraining and batches.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON last.")
    ] = False,
) -> None:
    """Simulate devices that fetch versions from a hub, personalise and send updates back."""
    import json

    from edgekit._quiet import quiet_dependencies
    from edgekit_server.errors import FleetError
    from edgekit_server.hub.fleet import FleetConfig, HubAccess, local_hub, run_fleet
    from edgekit_server.hub.fleet_data import FleetDataConfig, prepare
    from edgekit_server.hub.fleet_report import summary_lines

    def say(message: str) -> None:
        typer.echo(f"[fleet] {message}", err=True)

    quiet_dependencies()
    config = FleetConfig(devices=devices, rounds=rounds, epochs=epochs, seed=seed)
    if (bundle is None) != (clips is None):
        raise FleetError("--bundle and --clips go together")
    if bundle is not None and clips is not None:
        files = sorted(clips.glob("*.npz"))
    else:
        data_config = FleetDataConfig(
            devices=devices, reps=reps, pretrain_epochs=pretrain_epochs, seed=seed
        )
        data = prepare(data_config, workdir, say=say)
        bundle, files = data.bundle, data.clips
    if len(files) < devices:
        raise FleetError(f"{devices} devices need as many clip files (.npz), found {len(files)}")
    if hub is not None:
        if admin_token_file is None or public_key is None:
            raise FleetError("--hub needs --admin-token-file and --public-key")
        try:
            token, pinned = admin_token_file.read_text().strip(), public_key.read_text().strip()
        except OSError as exc:
            raise FleetError(f"cannot read {exc.filename}: {exc.strerror}") from exc
        access = HubAccess(hub, token, pinned)
        summary = run_fleet(config, workdir, bundle, files, access, say)
    else:
        with local_hub(workdir / "hub", buffer_k=devices) as access:
            say(f"hub at {access.url} (buffer of {devices} updates), log {workdir / 'hub'}")
            summary = run_fleet(config, workdir, bundle, files, access, say)
    for line in summary_lines(summary):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(summary))
    if summary["crashed"]:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except EdgekitError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
