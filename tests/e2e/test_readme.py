"""README.md's shell examples, run as written: every ```sh block, in order, by one bash,
in a directory where `jobfarm up` is running the farm."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningFarm
from tests.farm import free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)

# The farm is already up (the running_farm fixture ran `jobfarm up`), and the suite is
# what `make test` would run: these two lines are left out, everything else runs.
SKIPPED_LINES = ("make up", "make test")
# Blocks written for other places than one farm on this machine, by their first line.
SKIPPED_BLOCKS = {
    "# once": "a deployment across hosts, with PostgreSQL at db",
    ".venv/bin/python bench/": "the benchmarks, which start farms of their own",
    "# object storage on this machine": "a farm of its own on SeaweedFS, in the foreground",
    "# on the RabbitMQ host": "the broker's administration, on a host that runs RabbitMQ",
}
# The addresses `make up` and the README's receiver use. This farm runs on free ports
# (beside any farm already up), so these two addresses are the only text replaced.
README_API = "http://127.0.0.1:8000"
README_RECEIVER = "http://127.0.0.1:9000"
RECEIVER_BIND = '("127.0.0.1", 9000)'

# README's curl lines say -s, which exits 0 on an HTTP error answer. Rather than change
# every line, curl is a function here that adds --fail-with-body (an error answer fails
# the line, its body still shown) and -S, and logs each failure, including those in
# polling loops' conditions, where a failure ends the loop instead of the script.
PRELUDE = """\
set -euo pipefail
curl() {
  local status=0
  command curl --fail-with-body -sS "$@" || status=$?
  if [ "$status" -ne 0 ]; then printf 'exit %s: curl %s\\n' "$status" "$*" >> "$CURL_FAILURES"; fi
  return "$status"
}
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
set -x
"""
SCRIPT_TIMEOUT_S = 240


@dataclass
class ScriptRun:
    returncode: int
    stdout: str
    stderr: str
    curl_failures: str

    def explain(self) -> str:
        return (
            f"exit {self.returncode}\ncurl failures:\n{self.curl_failures}\n"
            f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-6000:]}"
        )


def readme_script(readme: str, api_url: str, receiver_port: int) -> str:
    """The README's sh blocks as one bash script, with the skips and address swaps above."""
    blocks = SH_BLOCK.findall(readme)
    skipped = [b for b in blocks if b.startswith(tuple(SKIPPED_BLOCKS))]
    missing = [p for p in SKIPPED_BLOCKS if not any(b.startswith(p) for b in skipped)]
    assert not missing, f"a skipped block is no longer in the README: {missing}"
    kept = [
        "\n".join(line for line in block.splitlines() if not line.startswith(SKIPPED_LINES))
        for block in blocks
        if block not in skipped
    ]
    script = "\n".join(kept)
    for found in (README_API, README_RECEIVER, RECEIVER_BIND):
        assert found in script, f"the README no longer uses {found}"
    return (
        script.replace(README_API, api_url)
        .replace(README_RECEIVER, f"http://127.0.0.1:{receiver_port}")
        .replace(RECEIVER_BIND, f'("127.0.0.1", {receiver_port})')
    )


def run_in_farm_directory(farm: RunningFarm, script: str) -> ScriptRun:
    """Run the script with bash where the farm runs, as a user in a checkout would: the
    README's `.venv/bin/...` and `tests/fixtures/...` paths resolve to this checkout's."""
    for name, target in ((".venv", Path(sys.executable).parent.parent), ("tests", REPO / "tests")):
        if not (farm.root / name).exists():
            (farm.root / name).symlink_to(target)
    failures = farm.root / "curl-failures.log"
    failures.write_text("")
    process = subprocess.Popen(
        ["bash", "-c", PRELUDE + script],
        cwd=farm.root,
        env={**farm.env, "CURL_FAILURES": str(failures)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=SCRIPT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        stdout, stderr = process.communicate()
    finally:
        _kill_group(process.pid)  # whatever the script left running
    return ScriptRun(process.returncode, stdout, stderr, failures.read_text())


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@pytest.mark.timeout(SCRIPT_TIMEOUT_S + 180)
def test_every_shell_example_in_the_readme_succeeds_as_written(
    running_farm: RunningFarm,
) -> None:
    script = readme_script(README.read_text(), running_farm.api_url, free_port())

    run = run_in_farm_directory(running_farm, script)

    assert run.returncode == 0, run.explain()
    assert run.curl_failures == "", run.explain()
    assert "verified job.succeeded job_" in run.stdout, run.explain()
    assert '"state": "succeeded"' in run.stdout, run.explain()
    assert '"status":"Succeeded"' in run.stdout, run.explain()
