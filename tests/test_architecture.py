"""The shape of the package: layers import only those below, no import cycles, no private reach-ins.

Read from the source with :mod:`ast`, so a violation fails here, in a second,
with the file and line, rather than in a review.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import xiotlab

PACKAGE = Path(__file__).resolve().parent.parent / "xiotlab"

# Each layer and the layers it may import (besides itself and xiotlab.errors).
LAYERS = {
    "protocol": set(),
    "server": set(),
    "runtime": {"protocol", "server"},
    "roles": {"protocol", "server", "runtime"},
    "faces": {"protocol", "server", "runtime", "roles"},
    "sim": {"protocol", "server", "runtime", "roles"},
    "bridges": {"protocol", "server", "runtime", "roles"},
}
# The protocol modules that speak plain XMPP; the runtime knows XMPP, not the IoT dialects.
XMPP_PROTOCOL = {"xiotlab.protocol.namespaces", "xiotlab.protocol.stanza_errors"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported xiotlab module, line)`` of every import in ``module``, type-only ones included."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            found += [(name, node.lineno) for name in submodules or [base]]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name.startswith("xiotlab")]


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_each_layer_imports_only_those_below_it():
    wrong = []
    for module, imports in GRAPH.items():
        layer = _layer(module)
        if layer is None:
            continue
        for imported, line in imports:
            other = _layer(imported)
            if other is not None and other != layer and other not in LAYERS[layer]:
                wrong.append(f"{MODULES[module]}:{line}: {layer} imports {imported}")
    assert wrong == []


def test_the_runtime_knows_xmpp_not_the_iot_dialects():
    wrong = [
        f"{MODULES[module]}:{line}: {imported}"
        for module, imports in GRAPH.items()
        if _layer(module) == "runtime"
        for imported, line in imports
        if _layer(imported) == "protocol" and imported not in XMPP_PROTOCOL
    ]
    assert wrong == []


def test_faces_never_touch_slixmpp():
    wrong = []
    for module, path in MODULES.items():
        if _layer(module) != "faces":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            wrong += [f"{path}:{node.lineno}" for name in names if name.split(".")[0] == "slixmpp"]
    assert wrong == []


def test_no_import_cycles():
    edges = {module: {imported for imported, _ in imports if imported in MODULES} for module, imports in GRAPH.items()}
    cycles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for imported in sorted(edges[module]):
            if imported in path:
                cycles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in done:
                visit(imported, [*path, imported], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(edges):
        if module not in done:
            visit(module, [module], done)
    assert cycles == []


def _own_instances(tree: ast.AST) -> set[int]:
    """Ids of the name nodes that stand for an instance a classmethod made of its own class (``cls(...)``)."""
    own = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        if not any(isinstance(d, ast.Name) and d.id == "classmethod" for d in function.decorator_list):
            continue
        made = {
            target.id
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "cls"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        own |= {id(node) for node in ast.walk(function) if isinstance(node, ast.Name) and node.id in made}
    return own


def _private_reach_ins(path: Path) -> list[str]:
    """``obj._name`` where ``obj`` is not ``self``, ``cls``, ``super()`` or an instance its own class just made."""
    tree = ast.parse(path.read_text())
    own = _own_instances(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        if name.endswith("_") and not name.startswith("__"):
            continue  # _sunder_ names are the enum module's public protocol
        owner = node.value
        if isinstance(owner, ast.Name) and (owner.id in ("self", "cls") or id(owner) in own):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue  # a subclass extending its own base's member
        found.append(f"{path}:{node.lineno}: .{name}")
    return found


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_no_module_touches_another_objects_private_members(module):
    assert _private_reach_ins(MODULES[module]) == []


def test_the_reach_in_finder_finds_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class Lab:\n"
        "    @classmethod\n"
        "    def join(cls):\n"
        "        lab = cls()\n"
        "        lab._pid = 1\n"
        "        return lab\n"
        "def peek(thing):\n"
        "    return thing._client\n"
    )
    assert _private_reach_ins(sample) == [f"{sample}:8: ._client"]


def test_notebooks_use_only_the_public_names():
    inner = []
    for notebook in sorted((PACKAGE.parent / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for line in "".join(cell["source"]).splitlines():
                if "xiotlab." in line and line.lstrip().startswith(("from", "import")):
                    module = line.split()[1]
                    if module.split(".")[1] not in ("errors", "sim", "bridges"):
                        inner.append(f"{notebook.name}: {line.strip()}")
    assert inner == []
    assert {"Readout", "Stream", "Field", "Category", "QoS", "ParameterType"} <= set(xiotlab.__all__)
