"""One tiny federation workspace for the federation tests (real corpus, models, bundles)."""

from __future__ import annotations

import pytest

from edgekit_server.fl.build import build_federation, tiny_federation
from edgekit_server.fl.workspace import Workspace
from tests.shared_build import shared_folder

TINY = tiny_federation(
    test_per_class=6,
    pretrain_epochs=4,
    d0_per_class=4,
    kws_speakers=10,
    kws_reps=3,
    arch_options={
        "tcresnet": {"widths": [8, 12, 16]},
        "resnet": {"channels": 8, "blocks": 1},
        "dscnn": {"channels": 8, "blocks": 1},
    },
)


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = shared_folder(
        tmp_path_factory, "federation", lambda f: build_federation(f / "ws", TINY)
    )
    return build_federation(folder / "ws", TINY)  # this worker's copy: its fingerprint matches
