"""The API process stays light: building the web app loads no job kind's libraries, and
the workers still find every kind's function. Each check runs in a fresh interpreter, so
what the other tests imported does not count."""

from __future__ import annotations

import json
import subprocess
import sys

from tasks.registry import KINDS

HEAVY = ("trimesh", "av", "pptx", "cascadio", "scipy", "numpy", "shapely", "f3d")
BUILD_APP = f"""
import json, sys
import api_stub.app
api_stub.app.create_app()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
RESOLVE_RUNNERS = """
import json
from tasks.registry import KINDS
print(json.dumps({name: callable(kind.run) for name, kind in KINDS.items()}))
"""


def fresh_python(code: str) -> object:
    """What `code`, run by a new interpreter, prints as JSON on its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_building_the_web_app_imports_no_heavy_library() -> None:
    assert fresh_python(BUILD_APP) == []


def test_every_registered_kind_resolves_to_a_function() -> None:
    assert fresh_python(RESOLVE_RUNNERS) == dict.fromkeys(KINDS, True)
