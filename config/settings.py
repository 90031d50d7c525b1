"""The farm's one settings object, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "dev-secret-change-me", "admin"})
DEV_SECRET = "dev-secret-change-me"


def normalize_sql_url(url: str) -> str:
    """The SQLAlchemy form of a database URL: PostgreSQL URLs get the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class TimeLimit(BaseModel):
    """Soft and hard wall-clock limits for one job kind, in seconds."""

    soft_s: int = Field(gt=0)
    hard_s: int = Field(gt=0)

    @model_validator(mode="after")
    def _hard_after_soft(self) -> TimeLimit:
        if self.hard_s <= self.soft_s:
            raise ValueError("hard_s must be greater than soft_s")
        return self


class RateLimit(BaseModel):
    """A token bucket: `burst` tokens at most, refilled at `per_s` tokens a second."""

    burst: int = Field(gt=0)
    per_s: float = Field(gt=0)


DEFAULT_TIME_LIMITS: dict[str, TimeLimit] = {
    "noop": TimeLimit(soft_s=600, hard_s=660),
    "convert": TimeLimit(soft_s=600, hard_s=660),
    "thumbnail": TimeLimit(soft_s=300, hard_s=360),
    "design": TimeLimit(soft_s=120, hard_s=180),
    "video": TimeLimit(soft_s=1800, hard_s=1860),
    "ppt": TimeLimit(soft_s=300, hard_s=360),
}
FALLBACK_TIME_LIMIT = TimeLimit(soft_s=900, hard_s=960)


class Settings(BaseSettings):
    """Everything the farm reads from its environment.

    Unprefixed names (`REDIS_URL`, `DATABASE_URL`, `PORT`) are the ones every
    platform sets; the rest take the `JOBFARM_` prefix.
    """

    model_config = SettingsConfigDict(
        env_prefix="JOBFARM_", env_file=".env", extra="ignore", populate_by_name=True
    )

    profile: Literal["dev", "prod"] = "dev"
    var_dir: Path = Path("var")

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "JOBFARM_REDIS_URL")
    )
    # The Celery broker when it is not that Redis: RabbitMQ (`amqp://…/vhost`).
    broker: str | None = Field(default=None, validation_alias=AliasChoices("JOBFARM_BROKER_URL"))
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "JOBFARM_DATABASE_URL")
    )
    embedded_redis_port: int = 6390

    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "JOBFARM_PORT"))
    public_base_url: str | None = None
    flower_port: int = 5555
    flower_user: str = "admin"
    flower_password: str = "admin"

    url_signing_secret: str = DEV_SECRET
    access_token_secret: str = DEV_SECRET
    # Encrypts the API keys of registered content models and the secrets of signed
    # apps; changing it loses them.
    model_key_secret: str = DEV_SECRET
    access_token_ttl_s: int = Field(default=24 * 3600, gt=0)
    # Signed server-to-server calls (seed 004; their app secrets are sealed under
    # `model_key_secret`): how far a call's X-Timestamp may be from now, and the
    # seed's per-app QPS classes (create 10/s, query 100/s, update/delete 20/s).
    signed_window_s: float = Field(default=300.0, gt=0)
    rate_limit_signed_create: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=10, per_s=10)
    )
    rate_limit_signed_query: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=100, per_s=100)
    )
    rate_limit_signed_update: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=20, per_s=20)
    )
    # Token buckets per caller, as fractal3d documents them: (size, refill per second).
    rate_limit_anonymous: RateLimit = Field(default_factory=lambda: RateLimit(burst=100, per_s=10))
    rate_limit_access_token: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=500, per_s=50)
    )
    rate_limit_api_key: RateLimit = Field(default_factory=lambda: RateLimit(burst=200, per_s=20))
    # smartmanu: 1000 calls a minute per caller; its tokens live an hour.
    rate_limit_smartmanu: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=1000, per_s=1000 / 60)
    )
    # The native API and the content platform's classes (seed 003: auth 10/min,
    # generation 20/h for non-members, queries 100/min, the rest 60/min).
    rate_limit_native: RateLimit = Field(default_factory=lambda: RateLimit(burst=1000, per_s=200))
    rate_limit_content_auth: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=10, per_s=10 / 60)
    )
    rate_limit_content_generation: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=20, per_s=20 / 3600)
    )
    rate_limit_content_query: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=100, per_s=100 / 60)
    )
    rate_limit_content_other: RateLimit = Field(
        default_factory=lambda: RateLimit(burst=60, per_s=60 / 60)
    )
    # Requests' bodies: JSON read whole before the route runs, within a deadline; uploads
    # streamed, failing when idle too long or, after that, slower than a floor.
    max_json_body_bytes: int = Field(default=1024**2, gt=0)
    # 10,000 tasks of up to ~800 bytes each; a 200,000-task batch is refused unparsed.
    max_batch_body_bytes: int = Field(default=8 * 1024**2, gt=0)
    body_deadline_s: float = Field(default=30.0, gt=0)
    body_idle_timeout_s: float = Field(default=30.0, gt=0)
    upload_min_bytes_per_s: float = Field(default=1024.0, ge=0)
    # Per tenant and API process: uploads in flight, and requests waiting for their job.
    max_uploads_per_tenant: int = Field(default=8, ge=1)
    max_waiting_per_tenant: int = Field(default=8, ge=1)
    smartmanu_token_ttl_s: int = Field(default=3600, gt=0)
    # How long POST /v2/design/generate waits for its design before answering "processing".
    design_wait_s: float = Field(default=20.0, ge=0)
    max_batch_tasks: int = Field(default=10_000, gt=0)
    # How long POST /api/v1/ppt/generate waits for its deck before answering with its id.
    content_wait_s: float = Field(default=30.0, ge=0)
    # The content platform's accounts (seed 003): JWTs signed with this secret, access
    # tokens for 2 h and refresh tokens for 7 d; registration on in dev, off in prod
    # unless set.
    content_jwt_secret: str = DEV_SECRET
    content_access_token_ttl_s: int = Field(default=2 * 3600, gt=0)
    content_refresh_token_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    content_registration: bool | None = None
    # The agent API's (seed 001) one access key, from the variable the seed names;
    # unset, every call there answers 401.
    agent_access_key: str | None = Field(
        default=None, validation_alias=AliasChoices("AGENT_ACCESS_KEY")
    )
    # Capacity views: throughput counts jobs finished over this window.
    capacity_window_s: float = Field(default=300.0, gt=0)
    signed_url_ttl_s: int = Field(default=3600, gt=0)
    file_retention_days: int = Field(default=7, ge=1)
    max_upload_bytes: int = Field(default=4 * 1024**3, gt=0)
    max_input_download_bytes: int = Field(default=4 * 1024**3, gt=0)
    input_download_timeout_s: float = Field(default=30.0, gt=0)
    ssrf_guard: bool | None = None

    # Where blobs live: unset, a directory under `var_dir` (one host, or a shared
    # mount); `s3://bucket/prefix`, S3-compatible object storage that every host reaches.
    blob_url: str | None = None
    blob_s3_endpoint_url: str | None = None
    # Unset, boto3 finds credentials itself (its environment variables, an instance role).
    blob_s3_access_key_id: str | None = None
    blob_s3_secret_access_key: SecretStr | None = None
    blob_s3_region: str = "us-east-1"
    # "path" suits every S3-compatible server (MinIO, SeaweedFS, Ceph); AWS takes both.
    blob_s3_addressing_style: Literal["path", "virtual"] = "path"
    blob_s3_connect_timeout_s: float = Field(default=5.0, gt=0)
    blob_s3_read_timeout_s: float = Field(default=60.0, gt=0)
    blob_s3_max_attempts: int = Field(default=3, ge=1)
    # Each upload in flight holds one part in memory; S3 wants 5 MiB or more but the last.
    blob_s3_part_bytes: int = Field(default=8 * 1024**2, ge=5 * 1024**2)
    # A download link's bytes: streamed by the API ("proxy"), or a redirect to a
    # presigned URL of the object store ("presigned"; local blobs are always proxied).
    blob_downloads: Literal["proxy", "presigned"] = "proxy"
    # The largest stored blob the API copies to a temp file to inspect (a CAD upload's
    # format, an image's size) when blobs are not local; larger ones go unsniffed.
    blob_inspect_max_bytes: int = Field(default=256 * 1024**2, gt=0)

    kind_time_limits: dict[str, TimeLimit] = Field(default_factory=dict)
    max_attempts: int = Field(default=5, ge=1)
    retry_backoff_base_s: float = Field(default=2.0, gt=0)
    retry_backoff_max_s: float = Field(default=600.0, gt=0)

    progress_db_interval_s: float = Field(default=1.0, ge=0)
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    stale_running_after_s: float = Field(default=60.0, gt=0)
    unsent_queued_after_s: float = Field(default=5.0, ge=0)
    lost_queued_after_s: float = Field(default=900.0, gt=0)
    # A released job not started this long after its message went out, whose message the
    # broker no longer holds (Redis restarted empty), goes back to the backlog at once.
    vanished_after_s: float = Field(default=10.0, gt=0)
    reconcile_interval_s: float = Field(default=15.0, gt=0)
    purge_interval_s: float = Field(default=3600.0, gt=0)
    enqueue_retries: int = Field(default=1, ge=0)
    # Messages a job queue may hold beyond its workers' slots. 0: a job is released only
    # when a slot is free for it, so a later, higher-priority job or another tenant's
    # never waits behind a released one.
    dispatch_headroom: int = Field(default=0, ge=0, le=10_000)
    # How long a message may go on running the very short jobs its runs' ends release
    # (see workers.runner); 0: one job per message.
    continue_for_s: float = Field(default=1.0, ge=0, le=60)
    # The priority (0–9, higher first) of jobs whose request names none, per dialect.
    default_priority: int = Field(default=5, ge=0, le=9)
    dialect_priorities: dict[str, Annotated[int, Field(ge=0, le=9)]] = Field(default_factory=dict)

    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Seconds before each retry; Standard Webhooks' suggested schedule, about 15 h in all.
    webhook_retry_schedule_s: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0]
    )
    webhook_jitter: float = Field(default=0.2, ge=0, le=1)
    webhook_countdown_max_s: float = Field(default=300.0, gt=0)
    # Attempts in flight to one endpoint (scheme, host and port) across the farm, so a
    # slow receiver holds no more delivery slots than this; 0: no cap. A delivery that
    # finds its endpoint's slots taken goes back on the queue for about this long.
    webhook_endpoint_concurrency: int = Field(default=2, ge=0)
    webhook_endpoint_busy_retry_s: float = Field(default=1.0, gt=0)

    # --- Webhook endpoints: their lifecycle (disabling, secret rotation) ---
    # An endpoint whose every attempt has failed for longer than this is disabled.
    webhook_disable_after_s: float = Field(default=5 * 86400.0, gt=0)
    # After a rotation, deliveries carry the old secret's signature beside the new one's
    # for this long; then the old secret is forgotten.
    webhook_secret_overlap_s: float = Field(default=86400.0, ge=0)
    webhook_endpoints_max: int = Field(default=50, ge=1)
    # Deliveries one replay call sends again, at most.
    webhook_replay_max: int = Field(default=1000, ge=1)
    # --- end of webhook endpoints ---

    worker_concurrency_short: int = Field(default=4, ge=1)
    worker_concurrency_long: int = Field(default=2, ge=1)
    worker_concurrency_maintenance: int = Field(default=1, ge=1)
    worker_max_memory_kib: int = Field(default=2 * 1024 * 1024, gt=0)
    # Hard cap on one job process's data memory; past it allocations fail and the job
    # fails as out_of_memory instead of the host swapping or the OOM killer striking. 0: none.
    job_memory_limit_mib: int = Field(default=4096, ge=0)
    # How often each worker process looks for run directories of killed runs to remove.
    work_sweep_s: float = Field(default=300.0, ge=0)

    log_level: str = "INFO"
    # Celery task events from every worker all the time. Off, workers send them only
    # once Flower (or `celery control enable_events`) asks, and a short job costs less.
    task_events: bool = False
    # How long an API process trusts an API key it verified before asking SQL again:
    # a revoked key keeps working for up to this long on each API process. 0: ask every time.
    api_key_cache_ttl_s: float = Field(default=5.0, ge=0)

    @field_validator("blob_url")
    @classmethod
    def _known_blob_scheme(cls, url: str | None) -> str | None:
        if not url:
            return None
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise ValueError("JOBFARM_BLOB_URL must be unset or s3://bucket[/prefix]")
        return url

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.profile != "prod":
            return self
        weak = [
            name
            for name, value in (
                ("JOBFARM_URL_SIGNING_SECRET", self.url_signing_secret),
                ("JOBFARM_ACCESS_TOKEN_SECRET", self.access_token_secret),
                ("JOBFARM_MODEL_KEY_SECRET", self.model_key_secret),
                ("JOBFARM_CONTENT_JWT_SECRET", self.content_jwt_secret),
                ("JOBFARM_FLOWER_PASSWORD", self.flower_password),
            )
            if value in PLACEHOLDER_SECRETS or len(value) < 16
        ]
        if weak:
            raise ValueError(f"prod profile refuses placeholder secrets: {', '.join(weak)}")
        return self

    @property
    def content_registration_open(self) -> bool:
        """Content accounts may register: in dev unless turned off, in prod only if on."""
        if self.content_registration is None:
            return self.profile != "prod"
        return self.content_registration

    @property
    def ssrf_guard_enabled(self) -> bool:
        """The SSRF guard is on in prod unless explicitly turned off."""
        return self.profile == "prod" if self.ssrf_guard is None else self.ssrf_guard

    @property
    def blob_dir(self) -> Path:
        return self.var_dir / "blobs"

    @property
    def sql_url(self) -> str:
        """The SQLAlchemy URL: the given database, or SQLite under `var_dir`."""
        if not self.database_url:
            return f"sqlite:///{(self.var_dir / 'jobfarm.sqlite3').resolve()}"
        return normalize_sql_url(self.database_url)

    @property
    def redis_server_url(self) -> str:
        """Redis (progress, rate limits, worker slots): the given one, or the embedded
        server's."""
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def broker_url(self) -> str:
        """The Celery broker: `JOBFARM_BROKER_URL`, else Redis."""
        return self.broker or self.redis_server_url

    @property
    def broker_is_amqp(self) -> bool:
        return self.broker_url.startswith(("amqp://", "amqps://", "pyamqp://"))

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def priority_for(self, dialect: str) -> int:
        """The priority of a job from `dialect` whose request names none."""
        return self.dialect_priorities.get(dialect, self.default_priority)

    def time_limit(self, kind: str) -> TimeLimit:
        """The limits for `kind`: configured, else the built-in default."""
        return self.kind_time_limits.get(kind) or DEFAULT_TIME_LIMITS.get(kind, FALLBACK_TIME_LIMIT)

    def longest_hard_limit_s(self) -> int:
        limits = {**DEFAULT_TIME_LIMITS, **self.kind_time_limits}
        return max([FALLBACK_TIME_LIMIT.hard_s, *(lim.hard_s for lim in limits.values())])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
