"""Settings, read from the environment with the ``VOUCHERD_`` prefix."""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCHERD_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./voucherd.db"
    # Public base URL of this installation (redemption links are built from it).
    public_url: str = "http://127.0.0.1:8000"
    # PostgreSQL behind PgBouncer in transaction (or statement) mode: consecutive transactions of
    # one connection may run on different server connections, so no prepared statement may outlive
    # its transaction. On: asyncpg's statement cache is off (its statements are unnamed, parsed
    # again with every execution) and SQLAlchemy's too, with a unique name for each statement it
    # prepares. Costs a Parse per statement; leave off when connecting to PostgreSQL itself or to
    # a PgBouncer in session mode. Not guessed from the URL (6432 is only a habit).
    database_pgbouncer: bool = False
    # PostgreSQL: a connection attempt that gets no answer is given up after this long, and so is
    # a statement (asyncpg's command_timeout, on the client: it also ends a statement whose
    # connection went silent, which no server-side statement_timeout can). Either is answered 503
    # with Retry-After. The statement limit sits well above the longest statement the server and
    # the worker run (a COPY of 10,000 codes or recipients: under a second); a CSV download's COPY,
    # which waits for the client, has an hour; migrations and `voucherd copy` have none.
    # 0: asyncpg's 60 s for connecting, no limit for statements.
    database_connect_timeout_seconds: float = Field(default=5.0, ge=0)
    database_statement_timeout_seconds: float = Field(default=30.0, ge=0)
    # Run the job worker inside `voucherd serve`. Default: on for SQLite, off for PostgreSQL.
    embedded_worker: bool | None = None
    # Connection pool per process (PostgreSQL). Kept connections only: under load an overflow
    # pool opens and closes connections constantly (measured: 35-45% less throughput).
    pool_size: int = Field(default=10, ge=1)
    pool_max_overflow: int = Field(default=0, ge=0)
    # PostgreSQL: connections the checkout (validate, redeem) takes straight from the driver,
    # beside the pool above; a process holds at most pool_size + checkout_pool_size connections.
    checkout_pool_size: int = Field(default=10, ge=1)
    # SQLite waits this long for the write lock before giving up.
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # Requests for more codes than this are answered 202 with a background job.
    sync_code_limit: int = Field(default=1000, ge=1)
    # A code pattern must hold 2**margin_bits times the codes its campaign will have.
    code_space_margin_bits: int = Field(default=20, ge=0, le=64)
    # Codes a bulk job writes per transaction.
    code_chunk_size: int = Field(default=10_000, ge=100)
    # Chunks a bulk job writes side by side on PostgreSQL, each in its own transaction (SQLite has
    # one writer: one there). Two keep both cores busy: a million codes took 16.6 s with one.
    code_job_connections: int = Field(default=2, ge=1, le=16)
    # How long a worker owns a claimed job before another worker may take it over.
    job_lease_seconds: float = Field(default=60.0, gt=0)
    # Idle worker polls for new jobs this often.
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    # A resolved API key is trusted this long before it is checked again (revocation delay).
    api_key_cache_seconds: float = Field(default=1.0, ge=0)
    # Webhooks. Outbound URLs must resolve to public addresses; these CIDRs are allowed besides
    # (tests set ["127.0.0.0/8"]; never loopback or private ranges in production).
    webhook_allowed_cidrs: list[str] = Field(default_factory=list)
    # One attempt is cut after this many seconds (connect, send and answer together).
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    # Seconds between attempts after the first (jitter of up to 10% either way is added); after
    # the last one the delivery is given up. The default spans about 5 days.
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: [
            5.0,
            300.0,
            1800.0,
            7200.0,
            18000.0,
            36000.0,
            50400.0,
            72000.0,
            86400.0,
            86400.0,
            86400.0,
        ]
    )
    # An endpoint failing without a single success for this long is disabled, with a notice.
    webhook_disable_after_hours: float = Field(default=120.0, gt=0)
    # Deliveries one worker sends at once, and how long a claimed delivery is its own.
    webhook_concurrency: int = Field(default=16, ge=1, le=512)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    # How often an idle worker looks for new events and due deliveries.
    webhook_poll_seconds: float = Field(default=0.2, gt=0)
    # Overlap in which a rotated secret's predecessor still signs.
    webhook_rotation_overlap_hours: float = Field(default=24.0, ge=0)
    # Who may read /metrics (Prometheus): "off", "loopback" (from this machine only, and never a
    # request a proxy forwarded) or "token" (Authorization: Bearer <metrics_token>).
    metrics: Literal["off", "loopback", "token"] = "loopback"
    metrics_token: str | None = Field(default=None, min_length=16)
    # Rate limits ("N/second|minute|hour"). Counters in memory per process, or in Redis (shared by
    # every instance) when redis_url is set. Set rate_limits_enabled=false to turn them all off.
    redis_url: str | None = None
    rate_limits_enabled: bool = True
    rate_limit_webhooks: str = "100/minute"
    rate_limit_recipient_upload: str = "10/minute"
    rate_limit_export: str = "60/minute"
    rate_limit_validation_per_key: str = "1200/minute"
    rate_limit_validation_per_ip: str = "1200/minute"
    # Voucherify's client-side calls come from browsers: RELIABILITY S2's 10 a minute per IP.
    rate_limit_client_side_per_ip: str = "10/minute"
    rate_limit_public_per_ip: str = "120/minute"
    # Purchases on a sales page's gift voucher shop (/shop/{subdomain}/), per client IP.
    rate_limit_shop_order_per_ip: str = "10/minute"
    rate_limit_tracking_per_ip: str = "600/minute"
    # Logins: per client IP and per email, so that neither many emails from one place nor one
    # email from many places can guess passwords quickly; registrations per IP.
    rate_limit_login_per_ip: str = "30/minute"
    rate_limit_login_per_account: str = "10/minute"
    rate_limit_register_per_ip: str = "20/hour"
    # The staff pages' login form, per client IP (and per email through login_per_account).
    rate_limit_staff_login_per_ip: str = "10/minute"
    # Signs staff access tokens (HS256). When unset, one is generated into data_dir on first use
    # and kept there (secret_key, mode 0600), so tokens survive restarts.
    secret_key: str | None = None
    data_dir: Path = Path(".")
    access_token_seconds: int = Field(default=86400, ge=60)  # VoucherCart documents one day
    # Mail (gift vouchers, discount codes), sent by the worker. smtp://host:port sends in plain
    # (a local relay), smtp+starttls://user:pass@host:587 upgrades with STARTTLS,
    # smtps://user:pass@host:465 speaks TLS from the start; user and password are URL-encoded.
    # Unset: nothing is sent, and each mail job ends recording that mail is not configured.
    smtp_url: str | None = None
    mail_from: str = "voucherd <no-reply@localhost>"
    # One SMTP conversation (connect, TLS, login, send) is cut after this many seconds.
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # CA certificates (PEM) that the SMTP server's certificate is checked against, for a relay
    # with a private CA; unset: the system's.
    smtp_ca_file: Path | None = None
    log_level: str = "INFO"
    # Test-only fault points, such as "after_commit_before_response". Never set in production.
    fault: str | None = None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        try:
            port_ok = parts.port is None or parts.port > 0  # a port that is no number raises
        except ValueError:
            port_ok = False
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname or not port_ok:
            raise ValueError(
                "VOUCHERD_SMTP_URL must look like smtp://host:port, smtp+starttls://user:pass@host:587"
                " or smtps://user:pass@host:465 (user and password URL-encoded)"
            )
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or "\r" in value or "\n" in value:
            raise ValueError("VOUCHERD_MAIL_FROM must be an address, such as: Demo Spa <gifts@example.com>")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def run_embedded_worker(self) -> bool:
        return self.is_sqlite if self.embedded_worker is None else self.embedded_worker


@lru_cache
def get_settings() -> Settings:
    return Settings()
