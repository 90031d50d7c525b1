import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from storage.tenants import new_webhook_secret
from workers.signature import sign, webhook_headers

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'


def test_headers_verify_with_the_standardwebhooks_library() -> None:
    secret = new_webhook_secret()
    body = json.dumps({"type": "job.succeeded", "data": {"id": "job_1"}})
    headers = webhook_headers(secret, "msg_1", int(time.time()), body)

    assert Webhook(secret).verify(body, headers) == json.loads(body)


def test_a_changed_body_does_not_verify() -> None:
    secret = new_webhook_secret()
    headers = webhook_headers(secret, "msg_1", int(time.time()), '{"a":1}')

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)


def test_signature_matches_the_reference_implementation() -> None:
    reference = Webhook(VECTOR_SECRET).sign(
        VECTOR_ID, datetime.fromtimestamp(VECTOR_TS, tz=UTC), VECTOR_BODY
    )

    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == reference


def test_new_secrets_carry_24_random_bytes() -> None:
    a, b = new_webhook_secret(), new_webhook_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 24
