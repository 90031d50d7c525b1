"""`storage/` knows no dialect: it imports nothing from `api_stub`, and its modules
import one another without a cycle. Every import counts, also those under
`TYPE_CHECKING` and inside functions."""

from __future__ import annotations

import ast
from graphlib import TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).parents[2]
STORAGE = ROOT / "storage"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every module name `path` imports; `from a import b` yields both `a` and `a.b`,
    since `b` may be a module."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def storage_imports() -> dict[str, set[str]]:
    return {module_name(p): imported_names(p) for p in sorted(STORAGE.rglob("*.py"))}


def test_storage_imports_nothing_from_api_stub() -> None:
    offenders = {
        module: sorted(n for n in names if n == "api_stub" or n.startswith("api_stub."))
        for module, names in storage_imports().items()
    }

    assert {m: n for m, n in offenders.items() if n} == {}


def test_storage_modules_import_one_another_without_a_cycle() -> None:
    imports = storage_imports()
    graph = {
        module: {n for n in names if n in imports} - {module} for module, names in imports.items()
    }
    assert "storage.webhooks" in graph["storage.jobs"]  # the walk sees real edges

    TopologicalSorter(graph).prepare()  # raises CycleError, naming the cycle
