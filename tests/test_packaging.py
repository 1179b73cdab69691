"""The SDK stays light: no server or plotting library at import time, none in its dependencies.

Flower, scikit-learn, FastAPI, uvicorn, Ray and Starlette belong to the server distribution;
matplotlib to the benchmarks' plots (an extra). An import of one inside a function is allowed
(it runs only when that function is called); one at module level would load it for every user.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import edgekit

ROOT = Path(edgekit.__file__).parent
PYPROJECT = ROOT.parent / "pyproject.toml"

# import names and the distribution names that provide them
SERVER_ONLY = {
    "flwr": "flwr",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "ray": "ray",
    "starlette": "starlette",
}


def module_level_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """``(top-level package, line)`` of every import that runs when the module is imported:
    in the module body and in its ``if`` / ``try`` / ``with`` blocks, not inside a function or
    class body, and not under ``if TYPE_CHECKING``."""
    found: list[tuple[str, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.append((node.module.split(".")[0], node.lineno))
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    visit(block)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def test_no_module_of_the_sdk_imports_a_server_or_plotting_library() -> None:
    # Execute
    offending = [
        f"{path.relative_to(ROOT.parent)}:{line} imports {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for name, line in module_level_imports(ast.parse(path.read_text()))
        if name in SERVER_ONLY
    ]
    # Assert
    assert offending == [], "\n".join(offending)


def test_the_scan_sees_imports_in_blocks_but_not_in_functions() -> None:
    # Prepare
    source = (
        "import os\n"
        "try:\n    import flwr\nexcept ImportError:\n    pass\n"
        "if TYPE_CHECKING:\n    import sklearn\n"
        "def plot():\n    import matplotlib\n"
    )
    # Execute
    names = [name for name, _ in module_level_imports(ast.parse(source))]
    # Assert
    assert names == ["os", "flwr"]


def test_the_sdk_distribution_depends_on_none_of_them() -> None:
    # Prepare
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    # Execute: the distribution names, without versions, extras or markers
    names = {
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()
        for requirement in project["dependencies"]
    }
    # Assert
    assert names.isdisjoint(SERVER_ONLY.values()), sorted(names & set(SERVER_ONLY.values()))


def test_the_public_names_load_from_where_users_import_them() -> None:
    # Execute / Assert: the lazy names of the package resolve (to the classes they name)
    from edgekit.plan import TrainingPlan as PlanFromPackage

    assert edgekit.TrainingPlan is PlanFromPackage
    assert edgekit.make_plan.__module__ == "edgekit.budget.make"
    assert edgekit.PlanConfig().batches == (32, 16, 8)
    for name in edgekit.__all__:
        assert getattr(edgekit, name) is not None, name
