"""Every dialect's OpenAPI schema fuzzed against the session farm: whatever a client sends,
valid or not, the farm answers without a server error (no 5xx), in bounded time.

The schemas are found by asking for each of SCHEMA_PATHS and keeping the ones that answer,
so a dialect moved into an app of its own is fuzzed once its schema's path is listed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok

from tests.farm import AGENT_ACCESS_KEY, Farm

# Where the farm's apps publish their schemas: native's (which once held every dialect not
# mounted), fractal3d's, content's, smartmanu's. A path that does not answer is skipped.
SCHEMA_PATHS = (
    "/openapi.json",
    "/api/openapi.json",
    "/api/v1/openapi.json",
    "/v2/openapi.json",
    "/api/v2/ai/openapi.json",
    "/api/v1/health/openapi.json",
)
# One operation of each dialect, as the client calls it: some schema must publish each.
DIALECT_OPERATIONS = (
    "/v1/jobs",
    "/api/files",
    "/api/v1/models",
    "/v2/design/generate",
    "/api/v2/ai/jobs/",
    "/api/v1/health",
)
# The agent API takes its access key itself, without "Bearer" (seed 001).
AGENT_PREFIX = "/api/v2/ai"
# smartmanu's calls (path segments) take its /auth/token token; every other dialect the API key.
SMARTMANU_SEGMENTS = frozenset({"auth", "v2", "ws"})
SEED = 20260101
# Small enough that every schema runs in well under a minute on two shared cores.
MAX_EXAMPLES = 20
REQUEST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Credentials:
    api_key: str
    smartmanu_token: str

    def authorization_for(self, path: str) -> str:
        if path.startswith(AGENT_PREFIX):
            return AGENT_ACCESS_KEY
        segments = set(path.strip("/").split("/"))
        token = self.smartmanu_token if segments & SMARTMANU_SEGMENTS else self.api_key
        return f"Bearer {token}"


def new_credentials(farm: Farm) -> Credentials:
    """A tenant of its own, so that its rate buckets start full."""
    api_key = farm.create_key(f"fuzz-{uuid.uuid4().hex[:8]}").api_key
    answer = requests.post(
        f"{farm.base_url}/auth/token", json={"api_key": api_key}, timeout=REQUEST_TIMEOUT_S
    )
    assert answer.status_code == 200, answer.text
    return Credentials(api_key=api_key, smartmanu_token=answer.json()["token"])


@pytest.fixture
def credentials(farm: Farm) -> Credentials:
    return new_credentials(farm)


def fetch_schema(farm: Farm, path: str, credentials: Credentials) -> dict[str, Any] | None:
    """The OpenAPI document at `path`, or None when nothing answers there."""
    headers = {"Authorization": credentials.authorization_for(path)}
    answer = requests.get(farm.base_url + path, headers=headers, timeout=REQUEST_TIMEOUT_S)
    if answer.status_code != 200:
        return None
    document = answer.json()
    return document if isinstance(document, dict) and "openapi" in document else None


def base_url_of(farm: Farm, document: dict[str, Any]) -> str:
    """Where the schema's paths start: its declared server (a mounted app's prefix), else
    the farm's root."""
    servers = document.get("servers") or [{}]
    return farm.base_url + urlsplit(servers[0].get("url", "")).path.rstrip("/")


def fuzz_config(base_url: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {"seed": SEED, "base-url": base_url, "generation": {"deterministic": True}}
    )


@pytest.fixture(params=SCHEMA_PATHS)
def published_schema(
    request: pytest.FixtureRequest, farm: Farm, credentials: Credentials
) -> schemathesis.BaseSchema:
    document = fetch_schema(farm, request.param, credentials)
    if document is None:
        pytest.skip(f"nothing publishes a schema at {request.param}")
    config = fuzz_config(base_url_of(farm, document))
    return schemathesis.openapi.from_dict(document, config=config)


def send(case: schemathesis.Case, credentials: Credentials) -> None:
    """Send the case with the dialect's credentials; raise if the farm answers 5xx."""
    full_path = urlsplit(case.operation.schema.get_base_url()).path + case.formatted_path
    # Case-insensitive: the generated Authorization header, if any, is replaced.
    case.headers["Authorization"] = credentials.authorization_for(full_path)
    case.call_and_validate(checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S)


def server_errors(operation: APIOperation, credentials: Credentials) -> list[str]:
    """Fuzz one operation with valid and invalid requests; the 5xx answers, described.
    `credentials` should be this operation's alone: the farm's rate limits (content's 20
    generations an hour) would otherwise answer 429 for the operations fuzzed last."""
    found: list[str] = []
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    # Failures are collected rather than raised, so one run reports every operation's;
    # hence no shrinking either, which keeps the run bounded.
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        try:
            send(case, credentials)
        except (Failure, FailureGroup) as exc:
            found.append(f"{operation.label}: {exc}")

    fuzz()
    return found


def test_every_dialect_publishes_a_schema(farm: Farm, credentials: Credentials) -> None:
    published: set[str] = set()
    for path in SCHEMA_PATHS:
        document = fetch_schema(farm, path, credentials)
        if document is not None:
            prefix = urlsplit(base_url_of(farm, document)).path
            published.update(prefix + operation for operation in document["paths"])
    assert set(DIALECT_OPERATIONS) <= published, sorted(published)


def test_no_request_makes_the_farm_fail(
    published_schema: schemathesis.BaseSchema, farm: Farm
) -> None:
    found: list[str] = []
    for result in published_schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()
        found.extend(server_errors(result.ok(), new_credentials(farm)))
    assert not found, "\n\n".join(found)


HUGE = 2**70
NATIVE, CONTENT, SMARTMANU, FRACTAL3D = "native", "content", "smartmanu", "fractal3d"
VIDEO = {"script": "a line", "duration": 5, "model_id": HUGE}
DECK = {"topic": "a topic", "outline": ["one"], "model_id": HUGE}
MODEL = {"name": "m", "provider": "openai", "model_name": "gpt"}
THUMBNAIL = {"url": "https://example.com/a.stl", "file_name": "a.stl", "width": HUGE, "height": 8}
# (dialect, method, path, JSON body): an id, page, offset or limit of 2**70 in each place.
HUGE_NUMBERS = [
    (NATIVE, "GET", f"/v1/jobs?offset={HUGE}", None),
    (NATIVE, "GET", f"/v1/jobs?limit={HUGE}", None),
    (NATIVE, "GET", f"/v1/jobs/{HUGE}", None),
    (NATIVE, "POST", f"/v1/jobs/{HUGE}/cancel", None),
    (NATIVE, "GET", f"/v1/files/{HUGE}", None),
    (NATIVE, "POST", f"/v1/files?name=a.txt&retention_days={HUGE}", None),
    (NATIVE, "POST", f"/v1/webhooks/deliveries/{HUGE}/redeliver", None),
    (CONTENT, "GET", f"/api/v1/credit/transactions?page={HUGE}", None),
    (CONTENT, "GET", f"/api/v1/credit/transactions?page_size={HUGE}", None),
    (CONTENT, "PUT", f"/api/v1/models/{HUGE}", MODEL),
    (CONTENT, "DELETE", f"/api/v1/models/{HUGE}", None),
    (CONTENT, "POST", "/api/v1/video/generate", VIDEO),
    (CONTENT, "POST", "/api/v1/ppt/generate", DECK),
    (CONTENT, "GET", f"/api/v1/video/{HUGE}/status", None),
    (CONTENT, "GET", f"/api/v1/ppt/{HUGE}/status", None),
    (SMARTMANU, "GET", f"/v2/design/{HUGE}", None),
    (SMARTMANU, "GET", f"/v2/async/batch/{HUGE}", None),
    (SMARTMANU, "GET", f"/v2/async/batch/BAT1?page={HUGE}", None),
    (SMARTMANU, "GET", f"/v2/async/batch/BAT1?page_size={HUGE}", None),
    (FRACTAL3D, "GET", f"/api/files?file_id={HUGE}", None),
    (FRACTAL3D, "POST", f"/api/files?file_name=a.stl&file_size={HUGE}", None),
    (FRACTAL3D, "POST", f"/api/files?file_name=a.stl&file_size=1&file_retention_days={HUGE}", None),
    (FRACTAL3D, "GET", f"/api/converts/result_file?transaction_id={HUGE}", None),
    (FRACTAL3D, "GET", f"/api/thumbnail/result_file?transaction_id={HUGE}", None),
    (FRACTAL3D, "POST", "/api/thumbnail", THUMBNAIL),
]


def in_dialect_shape(dialect: str, answer: requests.Response) -> bool:
    """Whether an error answer has the body its dialect's clients parse."""
    body = answer.json()
    if dialect == NATIVE:
        problem_json = answer.headers["content-type"].startswith("application/problem+json")
        return problem_json and body["status"] == answer.status_code and "type" in body
    if dialect == CONTENT:
        return set(body) == {"code", "message", "data"} and body["code"] == answer.status_code
    if dialect == SMARTMANU:
        return body["status"] == "error" and isinstance(body["message"], str)
    inner = body.get("error", body)
    return isinstance(inner["message"], str) and isinstance(inner["type"], str)


@pytest.mark.parametrize(("dialect", "method", "path", "body"), HUGE_NUMBERS)
def test_a_huge_number_is_refused_in_the_dialects_shape(
    farm: Farm, credentials: Credentials, dialect: str, method: str, path: str, body: Any
) -> None:
    answer = requests.request(
        method,
        farm.base_url + path,
        json=body,
        headers={"Authorization": credentials.authorization_for(path)},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert in_dialect_shape(dialect, answer), answer.text
