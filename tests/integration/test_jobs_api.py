"""The native jobs API over HTTP, against a real farm."""

from __future__ import annotations

import json

import requests

from config.settings import Settings
from tests.farm import Farm, wait_until

KEY_CACHE_TTL_S = Settings.model_fields["api_key_cache_ttl_s"].default


def test_noop_job_succeeds_and_its_output_downloads_through_the_signed_url(tenant) -> None:
    job = tenant.api.submit(params={"cpu_seconds": 0.2, "label": "hello"})
    assert job["state"] == "queued"

    done = tenant.api.wait_final(job["id"])

    assert done["state"] == "succeeded"
    assert done["attempts"] == 1
    assert done["result"]["params"] == {"cpu_seconds": 0.2, "label": "hello"}
    assert done["result"]["hash_rounds"] > 0
    [output] = done["outputs"]
    body = requests.get(output["url"], timeout=10)
    assert body.status_code == 200
    assert json.loads(body.content) == done["result"]


def test_a_tampered_signed_url_is_refused(tenant) -> None:
    done = tenant.api.wait_final(tenant.api.submit()["id"])
    url = done["outputs"][0]["url"]

    response = requests.get(url.replace("signature=", "signature=0"), timeout=10)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_missing_or_wrong_key_is_401_problem_json(farm: Farm) -> None:
    for api in (farm.client(None), farm.client("jf_nothere_wrong")):
        response = api.get("/v1/jobs")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401
        assert response.headers["x-request-id"]


def test_a_revoked_key_is_refused_within_the_key_cache_ttl(farm: Farm, tenant) -> None:
    # The API process trusts a key it verified for the TTL; revoking must still take
    # effect once that TTL has passed, on the next call.
    assert tenant.api.get("/v1/jobs").status_code == 200
    assert farm.jobfarm("keys", "revoke", tenant.creds.api_key).returncode == 0

    wait_until(
        lambda: tenant.api.get("/v1/jobs").status_code == 401,
        KEY_CACHE_TTL_S + 2,
        "the revoked key to be refused",
    )


def test_another_tenants_job_is_404(make_tenant) -> None:
    owner, stranger = make_tenant(), make_tenant()
    job = owner.api.submit()

    assert stranger.api.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert stranger.api.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
    assert stranger.api.get("/v1/jobs").json()["total"] == 0
    assert stranger.api.get("/v1/webhooks/deliveries", params={"job_id": job["id"]}).json() == []


def test_malformed_json_is_400_naming_the_body(tenant) -> None:
    response = tenant.api.post(
        "/v1/jobs", data=b'{"kind": "noop",', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body"


def test_unknown_kind_is_422_naming_kind(tenant) -> None:
    response = tenant.api.post("/v1/jobs", json={"kind": "teleport"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "kind", "message": "unknown job kind 'teleport'"}
    ]


def test_bad_params_are_422_naming_the_param(tenant) -> None:
    response = tenant.api.post("/v1/jobs", json={"kind": "noop", "params": {"cpu_seconds": -1}})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "params.cpu_seconds"


def test_rejected_requests_enqueue_nothing(tenant) -> None:
    tenant.api.post("/v1/jobs", json={"kind": "teleport"})
    tenant.api.post("/v1/jobs", json={"kind": "noop", "params": {"cpu_seconds": "lots"}})
    tenant.api.post("/v1/jobs", data=b"{", headers={"content-type": "application/json"})

    assert tenant.api.get("/v1/jobs").json()["total"] == 0


def test_request_id_is_echoed_or_made(tenant) -> None:
    given = tenant.api.get("/v1/jobs", headers={"X-Request-Id": "abc-123"})
    made = tenant.api.get("/v1/jobs")

    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) >= 16


def test_idempotency_key_returns_the_first_job(tenant) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = tenant.api.post("/v1/jobs", json={"kind": "noop"}, headers=headers)
    again = tenant.api.post("/v1/jobs", json={"kind": "noop"}, headers=headers)
    other = tenant.api.post("/v1/jobs", json={"kind": "noop", "params": {"x": 1}}, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409
    assert tenant.api.get("/v1/jobs").json()["total"] == 1


def test_jobs_list_filters_by_state_and_pages(tenant) -> None:
    ids = [tenant.api.submit()["id"] for _ in range(3)]
    failed = tenant.api.submit(params={"fail": "permanent"})["id"]
    for job_id in [*ids, failed]:
        tenant.api.wait_final(job_id)

    succeeded = tenant.api.get("/v1/jobs", params={"state": "succeeded", "limit": 2}).json()
    rest = tenant.api.get("/v1/jobs", params={"state": "succeeded", "limit": 2, "offset": 2}).json()
    failures = tenant.api.get("/v1/jobs", params={"state": "failed"}).json()

    assert succeeded["total"] == 3 and len(succeeded["items"]) == 2
    assert {j["id"] for j in succeeded["items"] + rest["items"]} == set(ids)
    assert [j["id"] for j in failures["items"]] == [failed]


def test_permanent_error_fails_the_job_with_its_code(tenant) -> None:
    done = tenant.api.wait_final(tenant.api.submit(params={"fail": "permanent"})["id"])

    assert done["state"] == "failed"
    assert done["attempts"] == 1
    assert done["error"]["code"] == "permanent_error"
    assert "asked to fail" in done["error"]["message"]


def test_retryable_error_is_retried_until_it_succeeds(tenant) -> None:
    job = tenant.api.submit(params={"fail": "retryable", "fail_attempts": 2})

    done = tenant.api.wait_final(job["id"])

    assert done["state"] == "succeeded"
    assert done["attempts"] == 3


def test_soft_time_limit_fails_the_job_clearly(tenant) -> None:
    done = tenant.api.wait_final(tenant.api.submit(params={"cpu_seconds": 30})["id"], timeout_s=30)

    assert done["state"] == "failed"
    assert done["error"]["code"] == "time_limit_exceeded"
    assert "6 s" in done["error"]["message"]


def test_a_job_past_the_memory_cap_fails_clearly_and_the_worker_goes_on(tenant) -> None:
    greedy = tenant.api.submit(params={"memory_mib": 4096})
    modest = tenant.api.submit(params={"memory_mib": 256})

    failed = tenant.api.wait_final(greedy["id"])
    succeeded = tenant.api.wait_final(modest["id"])

    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "out_of_memory"
    assert "1536 MiB" in failed["error"]["message"]
    assert succeeded["state"] == "succeeded"


def test_uploaded_file_is_the_jobs_input_and_is_private_to_its_tenant(make_tenant) -> None:
    owner, stranger = make_tenant(), make_tenant()
    payload = bytes(range(256)) * 1000
    upload = owner.api.post("/v1/files", params={"name": "../../etc/part.bin"}, data=payload)
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]

    done = owner.api.wait_final(owner.api.submit(input_file_id=file_id)["id"])

    assert done["result"]["inputs"] == [{"name": "part.bin", "size": len(payload)}]
    assert owner.api.get(f"/v1/files/{file_id}/content").content == payload
    assert requests.get(upload.json()["url"], timeout=10).content == payload
    assert stranger.api.get(f"/v1/files/{file_id}").status_code == 404
    refused = stranger.api.post("/v1/jobs", json={"kind": "noop", "input_file_id": file_id})
    assert refused.status_code == 422


def test_empty_upload_is_refused(tenant) -> None:
    response = tenant.api.post("/v1/files", params={"name": "empty.stl"}, data=b"")

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/empty-upload"


def test_input_url_is_downloaded_by_the_worker(tenant, farm: Farm) -> None:
    upload = tenant.api.post("/v1/files", params={"name": "x.bin"}, data=b"x" * 5000).json()

    done = tenant.api.wait_final(tenant.api.submit(input_url=upload["url"])["id"])

    assert done["state"] == "succeeded", done
    assert done["result"]["inputs"][0]["size"] == 5000


def test_healthz_reports_database_and_redis(farm: Farm) -> None:
    response = requests.get(farm.base_url + "/healthz", timeout=10)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_openapi_docs_are_served(farm: Farm) -> None:
    assert requests.get(farm.base_url + "/docs", timeout=10).status_code == 200
    spec = requests.get(farm.base_url + "/openapi.json", timeout=10).json()
    assert "/v1/jobs" in spec["paths"]
