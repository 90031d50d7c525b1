"""The agent API (seed 001) on the real farm, called as its agents call it: the access
key itself in `Authorization`, a `merchant_id` on every call, DRF pages of the
merchant's jobs and batches, and the capacity of each queue as a batch drains. Jobs
are made through the native and smartmanu APIs with the tenants' own keys."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text

from api_stub.app import create_app
from config.settings import get_settings
from storage import tenants
from storage.db import get_engine, session_scope
from storage.migrate import alembic_config, upgrade
from tests.farm import AGENT_ACCESS_KEY, Farm, wait_until
from tests.integration.test_smartmanu import CHEST_SOLID as QUICK_DESIGN
from tests.integration.test_smartmanu import TOO_MANY_SCREENS as INFEASIBLE_DESIGN

AGENT = "/api/v2/ai"


def agent_get(
    farm: Farm, path: str, authorization: str | None = AGENT_ACCESS_KEY, **params: Any
) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(farm.base_url + AGENT + path, params=params, headers=headers, timeout=30)


def agent_page(url: str) -> dict[str, Any]:
    """A page fetched at the absolute URL a previous page linked to."""
    response = requests.get(url, headers={"Authorization": AGENT_ACCESS_KEY}, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def every_page(farm: Farm, path: str, **params: Any) -> list[dict[str, Any]]:
    response = agent_get(farm, path, **params)
    assert response.status_code == 200, response.text
    pages = [response.json()]
    while pages[-1]["next"]:
        pages.append(agent_page(pages[-1]["next"]))
    return pages


def test_the_seeds_header_pages_a_merchants_jobs_and_never_anothers(
    farm: Farm, make_tenant
) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = make_tenant(), make_tenant()
    own_ids = {mine.api.submit("noop")["id"] for _ in range(5)}
    other_id = theirs.api.submit("noop")["id"]

    pages = every_page(farm, "/jobs/", merchant_id=mine.creds.merchant_id, limit=2)

    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert {p["count"] for p in pages} == {5}
    listed = [job for page in pages for job in page["results"]]
    assert {job["id"] for job in listed} == own_ids
    assert other_id not in {job["id"] for job in listed}
    assert {job["merchant_id"] for job in listed} == {mine.creds.merchant_id}
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert pages[1]["next"].startswith(farm.base_url + AGENT + "/jobs/?")
    assert f"merchant_id={mine.creds.merchant_id}" in pages[1]["next"]
    assert "offset=4" in pages[1]["next"] and "offset" not in pages[1]["previous"]


def test_filters_by_state_and_kind_carry_into_the_page_links(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    done = [tenant.api.submit("noop")["id"] for _ in range(3)]
    failed = tenant.api.submit("noop", params={"fail": "permanent"})["id"]
    for job_id in [*done, failed]:
        tenant.api.wait_final(job_id)
    merchant = tenant.creds.merchant_id

    only_failed = agent_get(farm, "/jobs/", merchant_id=merchant, state="failed").json()
    succeeded = agent_get(
        farm, "/jobs/", merchant_id=merchant, state="succeeded", kind="noop", limit=1
    ).json()

    assert [j["id"] for j in only_failed["results"]] == [failed]
    assert only_failed["results"][0]["error"]["code"]
    assert succeeded["count"] == 3
    assert "state=succeeded" in succeeded["next"] and "kind=noop" in succeeded["next"]
    assert agent_page(succeeded["next"])["results"][0]["state"] == "succeeded"


def test_one_job_reads_for_its_merchant_and_is_404_for_another(farm: Farm, make_tenant) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = make_tenant(), make_tenant()
    job_id = mine.api.submit("noop")["id"]
    mine.api.wait_final(job_id)

    own = agent_get(farm, f"/jobs/{job_id}/", merchant_id=mine.creds.merchant_id)
    other = agent_get(farm, f"/jobs/{job_id}/", merchant_id=theirs.creds.merchant_id)

    assert own.status_code == 200
    assert (own.json()["id"], own.json()["state"]) == (job_id, "succeeded")
    assert own.json()["created_at"].endswith("+00:00")
    assert other.status_code == 404
    assert set(other.json()) == {"detail"}


def smartmanu_token(farm: Farm, api_key: str) -> str:
    prefix, secret = api_key.rsplit("_", 1) if api_key.count("_") == 2 else (api_key, "")
    answer = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": prefix, "secret": secret}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_batches_are_paged_and_each_counts_its_jobs_by_state(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {smartmanu_token(farm, tenant.creds.api_key)}"}
    tasks = [{"task_id": f"t{i}", "design_params": QUICK_DESIGN} for i in range(3)]
    tasks.append({"task_id": "bad", "design_params": INFEASIBLE_DESIGN})
    created = requests.post(
        f"{farm.base_url}/v2/async/batch", json={"tasks": tasks}, headers=headers, timeout=30
    )
    assert created.status_code == 200, created.text
    batch_id = created.json()["data"]["batch_id"]
    merchant = tenant.creds.merchant_id

    detail = wait_until(
        lambda: (
            (b := agent_get(farm, f"/batches/{batch_id}/", merchant_id=merchant).json())[
                "completed"
            ]
            and b
        ),
        120,
        "the batch to complete",
    )
    listed = agent_get(farm, "/batches/", merchant_id=merchant).json()

    assert detail["counts"] == {
        "queued": 0,
        "running": 0,
        "succeeded": 3,
        "failed": 1,
        "canceled": 0,
    }
    assert (detail["total"], detail["merchant_id"]) == (4, merchant)
    assert listed["count"] == 1 and listed["results"][0]["id"] == batch_id


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {AGENT_ACCESS_KEY}", "wrong-key", AGENT_ACCESS_KEY + "x", "", None],
    ids=["bearer-prefix", "wrong-key", "longer-key", "empty", "no-header"],
)
def test_anything_but_the_key_itself_is_401(farm: Farm, tenant, authorization: str | None) -> None:  # type: ignore[no-untyped-def]
    response = agent_get(farm, "/jobs/", authorization, merchant_id=tenant.creds.merchant_id)

    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"merchant_id": "ten"}, 400),
        ({"merchant_id": 0}, 400),
        ({"merchant_id": 2**70}, 400),
        ({"merchant_id": 2**31 - 1}, 404),
    ],
    ids=["missing", "not-a-number", "zero", "huge", "unknown"],
)
def test_a_missing_or_bad_merchant_is_400_and_an_unknown_one_404(
    farm: Farm, params: dict[str, Any], status: int
) -> None:
    for path in ("/jobs/", "/batches/", "/capacity/", "/jobs/job_x/", "/batches/bat_x/"):
        response = agent_get(farm, path, **params)

        assert response.status_code == status, (path, response.text)
        assert set(response.json()) == {"detail"}
        assert "merchant" in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "many"},
        {"offset": -1},
        {"offset": 2**70},
        {"state": "sleeping"},
        {"kind": "teleport"},
    ],
)
def test_out_of_range_pages_and_unknown_filters_are_400(
    farm: Farm, tenant, params: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    response = agent_get(farm, "/jobs/", merchant_id=tenant.creds.merchant_id, **params)

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


def test_the_schema_is_served_with_the_key(farm: Farm) -> None:
    schema = agent_get(farm, "/openapi.json").json()

    assert {"/jobs/", "/jobs/{job_id}/", "/batches/", "/capacity/"} <= set(schema["paths"])


def test_keys_create_prints_the_merchant_id_the_agent_api_takes(farm: Farm) -> None:
    created = json.loads(
        farm.jobfarm("keys", "create", "--tenant", "agent-cli", "--json").stdout.splitlines()[-1]
    )

    response = agent_get(farm, "/jobs/", merchant_id=created["merchant_id"])

    assert isinstance(created["merchant_id"], int)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_tenants_created_at_once_get_distinct_merchant_ids(farm: Farm) -> None:
    names = [f"at-once-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    start = threading.Barrier(12)

    def create(name: str) -> tenants.Credentials:
        start.wait()
        with session_scope(farm.database_url) as session:
            return tenants.create_key(session, name)

    with ThreadPoolExecutor(12) as pool:
        made = list(pool.map(create, [*names, *names[:4]]))

    by_tenant = {c.tenant_id: c.merchant_id for c in made}
    assert len(by_tenant) == 8 and len(set(by_tenant.values())) == 8
    assert all(by_tenant[c.tenant_id] == c.merchant_id for c in made)


def test_the_migration_numbers_existing_tenants_in_creation_order(
    own_database_url: str | None, tmp_path: Path
) -> None:
    url = own_database_url or f"sqlite:///{tmp_path / 'before.sqlite3'}"
    command.upgrade(alembic_config(url), "0006")
    engine = get_engine(url)
    with engine.begin() as connection:
        for name, created in (("late", "2026-03-02"), ("early", "2026-03-01")):
            connection.execute(
                text(
                    "INSERT INTO tenants (id, name, webhook_secret, created_at)"
                    " VALUES (:id, :name, 'whsec_x', :created)"
                ),
                {"id": f"ten_{name}", "name": name, "created": f"{created} 00:00:00"},
            )

    upgrade(url)
    with session_scope(url) as session:
        newcomer = tenants.create_key(session, "newcomer").merchant_id
        numbered = {
            name: tenants.tenant_of_merchant(session, number)
            for name, number in (("early", 1), ("late", 2))
        }

    assert numbered == {"early": "ten_early", "late": "ten_late"}
    assert newcomer == 3


def cad_queue(farm: Farm, merchant: int) -> dict[str, Any]:
    response = agent_get(farm, "/capacity/", merchant_id=merchant)
    assert response.status_code == 200, response.text
    [cad] = [q for q in response.json()["queues"] if q["queue"] == "cad"]
    return dict(cad)


def test_capacity_shows_a_backlog_and_eta_that_fall_as_a_batch_drains(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    ids = [tenant.api.submit("noop", params={"cpu_seconds": 0.3})["id"] for _ in range(30)]
    merchant = tenant.creds.merchant_id

    samples = [cad_queue(farm, merchant)]
    deadline = time.monotonic() + 120
    while samples[-1]["backlog"] > 0:
        assert time.monotonic() < deadline, f"the backlog did not drain: {samples[-1]}"
        time.sleep(0.2)  # the pace of the samples, not a stand-in for the work
        samples.append(cad_queue(farm, merchant))

    backlogs = [s["backlog"] for s in samples]
    changes = [b for i, b in enumerate(backlogs) if i == 0 or b != backlogs[i - 1]]
    assert changes == sorted(set(changes), reverse=True), backlogs
    assert len(changes) >= 3 and changes[-1] == 0
    etas = [s["eta_s"] for s in samples if s["eta_s"] is not None]
    assert etas[0] > etas[len(etas) // 2] > etas[-1] == 0, etas
    assert all(s["workers_online"] >= 1 for s in samples)
    assert samples[-1]["throughput_per_min"] > 0
    assert {tenant.api.job(i)["state"] for i in ids} == {"succeeded"}


def test_smartmanu_answers_the_capacity_query_in_its_envelope(farm: Farm, tenant) -> None:  # type: ignore[no-untyped-def]
    job_id = tenant.api.submit("noop", params={"cpu_seconds": 30})["id"]
    tenant.api.wait_state(job_id, "running")
    token = smartmanu_token(farm, tenant.creds.api_key)

    response = requests.get(
        f"{farm.base_url}/v2/capacity", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    tenant.api.post(f"/v1/jobs/{job_id}/cancel")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    [cad] = [q for q in body["data"]["queues"] if q["queue"] == "cad"]
    assert cad["backlog"] == 1 and cad["running"] >= 1 and cad["workers_online"] >= 1


@pytest.fixture
def api_without_agent_key(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, int]]:
    """The app in-process, on a database of its own, with AGENT_ACCESS_KEY unset."""
    monkeypatch.setenv("JOBFARM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("AGENT_ACCESS_KEY", raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    url = get_settings().sql_url
    upgrade(url)
    with session_scope(url) as session:
        merchant = tenants.create_key(session, "no-agent-key").merchant_id
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client, merchant
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("authorization", ["", "None", AGENT_ACCESS_KEY, "Bearer "])
def test_with_the_variable_unset_every_call_is_401(
    api_without_agent_key: tuple[TestClient, int], authorization: str
) -> None:
    client, merchant = api_without_agent_key
    for path in ("/jobs/", "/capacity/", "/openapi.json"):
        response = client.get(
            AGENT + path,
            params={"merchant_id": merchant},
            headers={"Authorization": authorization},
        )

        assert response.status_code == 401, path
        assert set(response.json()) == {"detail"}
