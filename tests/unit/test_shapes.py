"""Which webhook bodies a dialect sends: found by the dialect's name, native otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api_stub import shapes
from api_stub.fractal3d import shapes as fractal3d
from api_stub.native import shapes as native
from api_stub.shapes import shapes_for
from api_stub.smartmanu import shapes as smartmanu


@pytest.mark.parametrize(
    ("dialect", "job_event", "batch_event"),
    [
        ("native", native.job_event, native.batch_event),
        ("fractal3d", fractal3d.job_event, native.batch_event),
        ("smartmanu", smartmanu.job_event, smartmanu.batch_event),
    ],
)
def test_a_dialect_with_a_shapes_module_gets_its_own_bodies(
    dialect: str, job_event: object, batch_event: object
) -> None:
    found = shapes_for(dialect)

    assert (found.job_event, found.batch_event) == (job_event, batch_event)


@pytest.mark.parametrize(
    "dialect",
    [
        "content",  # a dialect package without a shapes module
        "nosuchdialect",  # no package at all
        "Native",  # not a package name
        "native.shapes",
        "../native",
        "native\n",
        "",
    ],
)
def test_any_other_name_gets_the_native_envelope(dialect: str) -> None:
    found = shapes_for(dialect)

    assert (found.job_event, found.batch_event) == (native.job_event, native.batch_event)


def test_a_shapes_module_that_fails_its_own_imports_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> object:
        raise ModuleNotFoundError("No module named 'missing_dependency'", name="missing_dependency")

    monkeypatch.setattr(shapes.importlib, "import_module", broken)

    with pytest.raises(ModuleNotFoundError):
        shapes._shapes_module("fractal3d")


def test_the_shapes_load_without_the_web_framework() -> None:
    code = (
        "import sys, api_stub.shapes as s\n"
        "[s.shapes_for(d) for d in ('native', 'fractal3d', 'smartmanu')]\n"
        "assert not {'fastapi', 'starlette'} & set(sys.modules), sorted(sys.modules)\n"
    )

    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
