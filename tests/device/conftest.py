from __future__ import annotations

import pytest

from tests.device.bundle_fixture import BuiltBundle, build_bundle


@pytest.fixture(scope="package")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("bundle"))
