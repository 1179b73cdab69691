"""The Flower run config maps to the config classes, whose defaults the app's pyproject mirrors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edgekit.errors import ConfigError
from edgekit_server.fl import run_config
from edgekit_server.fl.client import ClientConfig
from edgekit_server.fl.hub_bridge import HubSettings
from edgekit_server.fl.impressions import ImpressionConfig
from edgekit_server.fl.strategy import ServerConfig

APP = Path(__file__).resolve().parents[3] / "server" / "pyproject.toml"
CLASSES = (ServerConfig, ClientConfig, ImpressionConfig, HubSettings)


def test_the_apps_run_config_lists_every_key_with_the_dataclass_default() -> None:
    # Prepare
    listed = tomllib.loads(APP.read_text())["tool"]["flwr"]["app"]["config"]

    # Execute
    expected = {"workspace": ""}
    for cls in CLASSES:
        expected |= run_config.defaults(cls, cls.RUN_CONFIG)

    # Assert: the same keys, and the same values of the same types
    assert listed == expected
    assert {k: type(v) for k, v in listed.items()} == {k: type(v) for k, v in expected.items()}


def test_a_run_config_sets_what_it_names_and_leaves_the_rest_at_the_defaults() -> None:
    run = {"num-server-rounds": 3, "cluster-k": 2, "wait-nodes-s": 5, "impression-count": 8}

    server, client = ServerConfig.from_run_config(run), ClientConfig.from_run_config(run)

    assert (server.rounds, server.cluster_k, server.wait_nodes_s) == (3, 2, 5.0)
    assert server.min_clients == ServerConfig.min_clients
    assert client.impressions.count == 8
    assert client.impressions.steps == ImpressionConfig.steps
    assert client.epochs == ClientConfig.epochs


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"num-server-rounds": "many"}, "'num-server-rounds' must be int"),
        ({"impressions": 1}, "'impressions' must be bool"),
        ({"lr": True}, "'lr' must be float"),
        ({"num-server-rounds": 0}, "rounds must be >= 1"),
        ({"added-class-mass": 2.0}, "added_class_mass must be in"),
    ],
)
def test_a_wrong_value_is_a_config_error_naming_it(run: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig.from_run_config(run)
        ClientConfig.from_run_config(run)


@pytest.mark.parametrize("value", ["", "relative/path", 3])
def test_the_workspace_must_be_an_absolute_path(value: object) -> None:
    with pytest.raises(ConfigError, match="'workspace' must be the absolute path"):
        run_config.workspace_path({"workspace": value})
