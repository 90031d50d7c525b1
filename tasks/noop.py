"""The diagnostic job kind: burns a requested amount of CPU, then returns its params."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tasks.errors import PermanentError, RetryableError
from tasks.types import JobContext, JobOutcome

CHUNK_ROUNDS = 2_000
# How often a wait reports its progress.
WAIT_STEP_S = 0.1


class NoopParams(BaseModel):
    """Params of `noop`. Unknown fields are kept and echoed back."""

    model_config = ConfigDict(extra="allow")

    cpu_seconds: float = Field(default=0.0, ge=0, le=3600, description="CPU time to burn")
    wait_seconds: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        description="then wall time to wait, as a job waiting on a remote service does",
    )
    fail: Literal["permanent", "retryable"] | None = Field(
        default=None, description="raise this kind of error instead of succeeding"
    )
    fail_attempts: int = Field(
        default=1_000_000, ge=1, description="with fail, fail only the first N attempts"
    )
    memory_mib: int = Field(default=0, ge=0, le=65536, description="memory to hold while working")


def burn_cpu(seconds: float, report: Callable[[float], None]) -> int:
    """Hash in a loop until `seconds` of process CPU time are spent, reporting the
    fraction done; returns the rounds."""
    start = time.process_time()
    digest = b"jobfarm"
    rounds = 0
    while (spent := time.process_time() - start) < seconds:
        for _ in range(CHUNK_ROUNDS):
            digest = hashlib.sha256(digest).digest()
        rounds += CHUNK_ROUNDS
        report(spent / seconds)
    return rounds


def wait_out(seconds: float, report: Callable[[float], None]) -> None:
    """Let `seconds` of wall time pass, reporting the fraction done every step."""
    start = time.monotonic()
    while (waited := time.monotonic() - start) < seconds:
        report(waited / seconds)
        time.sleep(min(WAIT_STEP_S, seconds - waited))


def run_noop(ctx: JobContext) -> JobOutcome:
    """Hold `memory_mib`, burn `cpu_seconds` and wait `wait_seconds`, then write the
    params to `result.json` and return them. Progress runs 0 → 100 over both phases,
    each its share of their sum."""
    params = ctx.params
    assert isinstance(params, NoopParams)
    ctx.progress(0.0, "starting")
    total_s = params.cpu_seconds + params.wait_seconds
    cpu_share = params.cpu_seconds / total_s if total_s else 1.0
    held = bytearray(params.memory_mib * 1024 * 1024)
    rounds = burn_cpu(
        params.cpu_seconds, lambda done: ctx.progress(100 * cpu_share * done, "working")
    )
    wait_out(
        params.wait_seconds,
        lambda done: ctx.progress(100 * (cpu_share + (1 - cpu_share) * done), "waiting"),
    )
    del held
    if params.fail and ctx.attempt <= params.fail_attempts:
        error = PermanentError if params.fail == "permanent" else RetryableError
        raise error(f"noop asked to fail ({params.fail}) on attempt {ctx.attempt}")
    result = {
        "params": params.model_dump(mode="json", exclude_unset=True),
        "hash_rounds": rounds,
        "inputs": [{"name": p.name, "size": p.stat().st_size} for p in ctx.inputs],
    }
    out = ctx.workdir / "result.json"
    out.write_text(json.dumps(result))
    ctx.progress(100.0, "done")
    return JobOutcome(result=result, outputs=(out,))
