import pytest
from pydantic import ValidationError

from cli.roles import worker_argv
from config.celery import celery_config
from config.settings import Settings, TimeLimit


def test_prod_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="JOBFARM_URL_SIGNING_SECRET"):
        Settings(profile="prod", flower_password="a-long-enough-password")


def test_prod_accepts_real_secrets_and_guards_ssrf() -> None:
    settings = Settings(
        profile="prod",
        url_signing_secret="x" * 32,
        access_token_secret="z" * 32,
        model_key_secret="m" * 32,
        content_jwt_secret="j" * 32,
        flower_password="y" * 20,
    )
    assert settings.ssrf_guard_enabled


def test_prod_refuses_a_placeholder_access_token_secret() -> None:
    with pytest.raises(ValidationError, match="JOBFARM_ACCESS_TOKEN_SECRET"):
        Settings(
            profile="prod",
            url_signing_secret="x" * 32,
            model_key_secret="m" * 32,
            flower_password="y" * 20,
        )


def test_dev_allows_local_urls_by_default() -> None:
    assert not Settings().ssrf_guard_enabled


def test_embedded_defaults_without_urls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        var_dir=tmp_path, redis_url=None, database_url=None, embedded_redis_port=7001
    )
    assert settings.sql_url == f"sqlite:///{tmp_path / 'jobfarm.sqlite3'}"
    assert settings.broker_url == "redis://127.0.0.1:7001/0"


def test_env_urls_are_read_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/farm")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/2")
    settings = Settings()
    assert settings.sql_url == "postgresql+psycopg://u@db:5432/farm"
    assert settings.broker_url == "redis://cache:6379/2"


def test_a_broker_url_moves_celery_to_rabbitmq_and_leaves_redis_for_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("JOBFARM_BROKER_URL", "amqp://farm:pw@mq:5672/jobs")
    settings = Settings()
    assert settings.broker_url == "amqp://farm:pw@mq:5672/jobs" and settings.broker_is_amqp
    assert settings.redis_server_url == "redis://cache:6379/2"
    config = celery_config(settings)
    assert config["broker_url"] == "amqp://farm:pw@mq:5672/jobs"
    assert config["broker_transport_options"]["confirm_publish"] is True
    queues = {q.name: q for q in config["task_queues"]}
    assert queues["cad"].queue_arguments == {"x-queue-type": "quorum"}
    # Topic exchanges: Celery's native delayed delivery carries countdowns on quorum queues.
    assert queues["webhooks"].exchange.type == "topic"


def test_on_redis_the_visibility_timeout_outlasts_the_longest_job() -> None:
    settings = Settings(redis_url="redis://cache:6379/2")
    config = celery_config(settings)
    assert not settings.broker_is_amqp
    assert (
        config["broker_transport_options"]["visibility_timeout"] > settings.longest_hard_limit_s()
    )


def test_time_limits_need_hard_above_soft() -> None:
    with pytest.raises(ValidationError):
        TimeLimit(soft_s=10, hard_s=10)


def test_kind_time_limits_come_from_json_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBFARM_KIND_TIME_LIMITS", '{"noop": {"soft_s": 3, "hard_s": 5}}')
    settings = Settings()
    assert settings.time_limit("noop") == TimeLimit(soft_s=3, hard_s=5)
    assert settings.time_limit("unheard-of").hard_s > 0


def test_celery_config_keeps_messages_invisible_longer_than_any_job() -> None:
    settings = Settings(kind_time_limits={"noop": TimeLimit(soft_s=7000, hard_s=7200)})
    conf = celery_config(settings)
    assert conf["broker_transport_options"]["visibility_timeout"] > 7200
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_ignore_result"]
    assert {q.name for q in conf["task_queues"]} == {
        "cad",
        "render",
        "design",
        "media",
        "webhooks",
        "maintenance",
    }


@pytest.mark.parametrize("always_on", [False, True])
def test_task_events_are_always_on_only_when_the_operator_asks(always_on: bool) -> None:
    settings = Settings(task_events=always_on)
    conf = celery_config(settings)

    assert conf["worker_send_task_events"] is always_on
    assert conf["task_send_sent_event"] is always_on
    assert ("--task-events" in worker_argv(settings, "long")) is always_on
