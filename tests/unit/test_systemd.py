"""`jobfarm systemd`: a unit per Procfile role that systemd itself accepts."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.systemd import Deployment, procfile_roles, units

ROOT = Path(__file__).resolve().parents[2]
WHERE = Deployment(
    jobfarm=Path("/opt/jobfarm/.venv/bin/jobfarm"),
    user="jobfarm",
    env_file=Path("/etc/jobfarm/jobfarm.env"),
    var_dir=Path("/var/lib/jobfarm"),
    stop_timeout_s=300,
)


def parsed(text: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None, strict=False)
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config.read_string(text)
    return config


def test_every_procfile_role_gets_a_unit_running_its_command() -> None:
    roles = procfile_roles((ROOT / "Procfile").read_text())
    made = units((ROOT / "Procfile").read_text(), WHERE)
    assert sorted(made) == sorted(f"jobfarm-{role}.service" for role in roles)
    for role, command in roles.items():
        service = parsed(made[f"jobfarm-{role}.service"])["Service"]
        assert service["ExecStart"] == f"{WHERE.jobfarm} {command.removeprefix('jobfarm ')}"
        assert service["User"] == "jobfarm" and service["Restart"] == "always"
        assert service["EnvironmentFile"] == "/etc/jobfarm/jobfarm.env"
        assert service["ReadWritePaths"] == "/var/lib/jobfarm"


def test_a_procfile_line_that_is_not_a_jobfarm_command_is_refused() -> None:
    with pytest.raises(ValueError, match="only `jobfarm"):
        units("web: gunicorn app:app\n", WHERE)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_accepts_the_units_the_command_writes(tmp_path: Path) -> None:
    jobfarm = Path(sys.executable).parent / "jobfarm"
    subprocess.run(
        [str(jobfarm), "systemd", "--out", str(tmp_path), "--procfile", str(ROOT / "Procfile")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = sorted(tmp_path.glob("*.service"))
    assert files
    verify = subprocess.run(
        ["systemd-analyze", "verify", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    problems = [line for line in verify.stderr.splitlines() if "jobfarm-" in line]
    assert not problems, problems
