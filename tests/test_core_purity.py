"""The core packages stay pure: no UI library anywhere in optimizers/ or surfaces/, and
surfaces/ imports torch only lazily (inside the oracle functions).

Imports are read from the sources with ast, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("optimizers", "surfaces")
UI_LIBRARIES = {"streamlit", "plotly"}


def imported_roots(source: str, *, module_level_only: bool = False) -> set[str]:
    """Top-level package names a source imports (relative imports excluded).

    module_level_only: only imports executed at import time (not inside a def or an
    ``if TYPE_CHECKING:`` block).
    """
    tree = ast.parse(source)
    nodes: list[ast.AST] = []
    if module_level_only:
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                stack.extend(node.orelse)
                continue
            nodes.append(node)
            stack.extend(ast.iter_child_nodes(node))
    else:
        nodes = list(ast.walk(tree))
    roots: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_detector_sees_every_form_of_import() -> None:
    snippet = (
        "import os\n"
        "import plotly.graph_objects as go\n"
        "def f():\n"
        "    from streamlit import session_state\n"
        "    return __import__('torch')\n"
        "from . import sibling\n"
    )
    assert imported_roots(snippet) == {"os", "plotly", "streamlit", "torch"}
    assert imported_roots(snippet, module_level_only=True) == {"os", "plotly"}
    lazy = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
    assert imported_roots(lazy, module_level_only=True) == {"typing"}


@pytest.mark.parametrize("package", CORE)
def test_core_packages_never_import_ui_libraries(package: str) -> None:
    files = sources(package)
    assert files, f"{package}/ has no sources"
    for path in files:
        bad = imported_roots(path.read_text()) & UI_LIBRARIES
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_surfaces_import_torch_lazily() -> None:
    for path in sources("surfaces"):
        assert "torch" not in imported_roots(path.read_text(), module_level_only=True), path
    # and for real: importing and using the NumPy/scalar paths leaves torch unloaded
    code = (
        "import sys, numpy as np, surfaces\n"
        "for n in surfaces.names():\n"
        "    s = surfaces.get(n); s.grad(np.zeros((3, 2))); s.grad_scalar(0.5, 0.5)\n"
        "print(sorted(m for m in ('torch', 'streamlit', 'plotly') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
