"""The only reader of the environment.

Every MARAC_* variable is read here, once, into a frozen Settings value. Production
refuses to start with a missing or default secret key, because the key signs sessions and
CSRF tokens, or without data keys, which seal fields and stored documents and key the audit
chain and the person index (README, "Field-level encryption").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENVIRONMENTS = ("development", "test", "production", "demo")
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
MIN_SECRET_LENGTH = 32
DEFAULT_MAIL_FROM = "marac@localhost"
SMTP_SCHEMES = ("smtp", "smtps")
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


class SettingsError(RuntimeError):
    """The environment describes a service that must not start."""


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    redis_url: str | None
    secret_key: str
    document_store: Path
    base_url: str
    # None: no e-mail is sent; reminders are still shown in the app. May hold a password,
    # so it stays out of the repr (and so out of any log line that prints the settings).
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = DEFAULT_MAIL_FROM
    # One PDF render (a shared layout or a stamp) in a render process: past the time it
    # is stopped and the job fails (and is retried); past the memory the process dies.
    render_timeout_seconds: int = 120
    render_memory_mb: int = 1024
    # arq's job_timeout: a job running longer is stopped and failed; a job whose worker died
    # is picked up again this long (plus 10 s) after it started. Above the longest render.
    job_timeout_seconds: int = 300
    # Jobs one worker runs at once (arq's max_jobs); renders also queue for the render processes.
    worker_concurrency: int = 10
    # Connections each web or worker process keeps to PostgreSQL at most (asyncpg pool).
    database_pool_size: int = 5
    # Connecting through PgBouncer in transaction pooling: each transaction may land on another
    # server connection, where a statement asyncpg prepared and cached on the last one does not
    # exist. True turns asyncpg's statement cache off (statement_cache_size=0).
    database_pgbouncer: bool = False
    # PostgreSQL role the web and worker processes connect as; `marac migrate` (run as the
    # owner) grants it what the service needs and no UPDATE/DELETE on the audit tables.
    app_role: str | None = None
    # Field-level encryption keys by version (marac.sealed); the highest seals new values.
    # Each also derives that version's audit-chain, person-index and document keys (versioned_keys).
    data_keys: dict[int, bytes] = field(default_factory=dict, repr=False)
    # Version 0 of those keys is what signed before they had versions: derived from this
    # secret, which is the key list's entry 0 if it has one, else MARAC_SECRET_KEY.
    legacy_secret: bytes | None = field(default=None, repr=False)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client. Their own
    # address is never throttled as a whole: it is every user's (docs/security.md).
    trusted_proxies: tuple[str, ...] = ()
    # The bearer token Prometheus sends for /metrics; None: /metrics answers 404 (README, "Monitoring").
    metrics_token: str | None = field(default=None, repr=False)
    # "json": one JSON object a line (production's default); "text": plain lines, for a developer.
    log_format: str = "text"
    # A webhook delivery (marac/webhooks/delivery.py) is cut off after this many seconds in all: connecting,
    # sending and the answer's status line together.
    webhook_timeout_seconds: int = 10
    # Exceptions to the rule that webhooks reach only public addresses (docs/security.md#webhooks): host names
    # (lower case) or networks whose addresses a receiver may have, for an agency system on a private network.
    webhook_allow: tuple[str, ...] = ()
    # Derived keys by (purpose, version); not an init field, so dataclasses.replace starts afresh.
    _derived: dict[tuple[str, int], bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def demo(self) -> bool:
        return self.env == "demo"

    @property
    def shows_setup_links(self) -> bool:
        # Set-up links go to the user's own e-mail; only a developer's or demo machine also
        # shows them to the administrator who made them (docs/security.md).
        return self.env in ("development", "demo")

    @property
    def pseudo_locale(self) -> bool:
        # ?lang=qps: every string stretched, to see layouts break and strings left unmarked (marac/i18n.py).
        return not self.production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.production or self.base_url.startswith("https://")

    @property
    def current_data_key(self) -> tuple[int, bytes]:
        version = max(self.data_keys)
        return version, self.data_keys[version]

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network) for network in self.trusted_proxies)

    def derived_key(self, purpose: str) -> bytes:
        """A separate key per purpose, so a leak of one use does not forge another."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    def versioned_keys(self, purpose: str) -> dict[int, bytes]:
        """Every version of a purpose's key: version N from data key N, version 0 the key the
        secret key derived before there were versions (rows written before migration 0011).
        Rows record the version they were made with, so changing keys breaks nothing."""
        keys = {}
        for version in (0, *self.data_keys):
            key = self._derived.get((purpose, version))
            if key is None:
                if version == 0:
                    secret = self.legacy_secret or self.secret_key.encode()
                    key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()
                else:
                    key = HKDF(
                        algorithm=hashes.SHA256(),
                        length=32,
                        salt=None,
                        info=b"marac versioned key: " + purpose.encode(),
                    ).derive(self.data_keys[version])
                self._derived[(purpose, version)] = key
            keys[version] = key
        return keys

    def current_key(self, purpose: str) -> tuple[int, bytes]:
        """The version and key that sign or digest anything new: the newest data key's."""
        version = max(self.data_keys)
        return version, self.versioned_keys(purpose)[version]


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    env_vars = os.environ if environ is None else environ
    env = env_vars.get("MARAC_ENV", "development")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"MARAC_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")

    secret_key = env_vars.get("MARAC_SECRET_KEY", "")
    if env == "production":
        if not secret_key or secret_key == DEV_SECRET_KEY:
            raise SettingsError("MARAC_SECRET_KEY must be set to a non-default value in production")
        if len(secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(f"MARAC_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production")
    secret_key = secret_key or DEV_SECRET_KEY

    document_store = Path(env_vars.get("MARAC_DOCUMENT_STORE", "./var/documents")).resolve()
    for forbidden in (PACKAGE_DIR, PROJECT_DIR / "templates"):
        if document_store == forbidden or forbidden in document_store.parents:
            raise SettingsError(f"MARAC_DOCUMENT_STORE must not be inside {forbidden}")

    base_url = env_vars.get("MARAC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise SettingsError("MARAC_BASE_URL must be an http or https URL")
    if env == "production" and not base_url.startswith("https://"):
        raise SettingsError("MARAC_BASE_URL must be https in production")

    database_url = env_vars.get("MARAC_DATABASE_URL", "sqlite://./var/marac.sqlite3")
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise SettingsError("MARAC_DATABASE_URL must be a sqlite:// or postgres:// URL")

    smtp_url = env_vars.get("MARAC_SMTP_URL") or None
    if smtp_url is not None:
        _check_smtp_url(smtp_url)
    mail_from = env_vars.get("MARAC_MAIL_FROM") or DEFAULT_MAIL_FROM
    if "@" not in mail_from or any(c in mail_from for c in "\r\n"):
        raise SettingsError("MARAC_MAIL_FROM must be an e-mail address")

    limits = {}
    for name, field_name, minimum in (
        ("MARAC_RENDER_TIMEOUT", "render_timeout_seconds", 1),
        ("MARAC_RENDER_MEMORY_MB", "render_memory_mb", 256),
        ("MARAC_JOB_TIMEOUT", "job_timeout_seconds", 1),
        ("MARAC_WORKER_CONCURRENCY", "worker_concurrency", 1),
        ("MARAC_DATABASE_POOL_SIZE", "database_pool_size", 1),
        ("MARAC_WEBHOOK_TIMEOUT", "webhook_timeout_seconds", 1),
    ):
        raw = env_vars.get(name)
        if raw:
            if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < minimum:
                raise SettingsError(f"{name} must be a whole number, at least {minimum}")
            limits[field_name] = int(raw)

    data_keys = _data_keys(env_vars)
    legacy = data_keys.pop(0, None)
    if not data_keys:
        if env == "production":
            raise SettingsError("MARAC_DATA_KEYS or MARAC_DATA_KEY_FILE must be set in production")
        # Outside production a key derived from the secret key keeps one-command starts working.
        data_keys = {1: hmac.new(secret_key.encode(), b"field-encryption", hashlib.sha256).digest()}

    redis_url = env_vars.get("MARAC_REDIS_URL") or None
    if redis_url is not None and env == "production" and not urlsplit(redis_url).password:
        # Job payloads carry ids only, but a queue anyone can write to can start any job.
        raise SettingsError("MARAC_REDIS_URL must carry a password in production (redis://:PASSWORD@host:6379/0)")

    pgbouncer = env_vars.get("MARAC_DATABASE_PGBOUNCER", "").strip().lower()
    if pgbouncer not in ("", "0", "1", "true", "false", "yes", "no"):
        raise SettingsError("MARAC_DATABASE_PGBOUNCER must be 1 (through PgBouncer in transaction pooling) or 0")

    app_role = env_vars.get("MARAC_DATABASE_APP_ROLE") or None
    if app_role is not None and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", app_role):
        raise SettingsError("MARAC_DATABASE_APP_ROLE must be a lower-case PostgreSQL role name")

    metrics_token = env_vars.get("MARAC_METRICS_TOKEN") or None
    if metrics_token is not None and not re.fullmatch(r"[A-Za-z0-9._~+/=-]{32,256}", metrics_token):
        raise SettingsError("MARAC_METRICS_TOKEN must be 32 to 256 characters of letters, digits and ._~+/=-")
    log_format = env_vars.get("MARAC_LOG_FORMAT") or ("json" if env == "production" else "text")
    if log_format not in ("json", "text"):
        raise SettingsError("MARAC_LOG_FORMAT must be json or text")

    return Settings(
        env=env,
        metrics_token=metrics_token,
        log_format=log_format,
        trusted_proxies=_trusted_proxies(env_vars.get("MARAC_TRUSTED_PROXIES", "")),
        webhook_allow=_webhook_allow(env_vars.get("MARAC_WEBHOOK_ALLOW", "")),
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        document_store=document_store,
        base_url=base_url,
        smtp_url=smtp_url,
        mail_from=mail_from,
        data_keys=data_keys,
        legacy_secret=legacy,
        app_role=app_role,
        database_pgbouncer=pgbouncer in ("1", "true", "yes"),
        **limits,
    )


def _trusted_proxies(text: str) -> tuple[str, ...]:
    networks = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            message = f"MARAC_TRUSTED_PROXIES: {entry!r} is not an IP address or network (10.0.0.0/8)"
            raise SettingsError(message) from None
    if "0.0.0.0/0" in networks or "::/0" in networks:
        raise SettingsError("MARAC_TRUSTED_PROXIES must not trust every address: name the proxies' own networks")
    return tuple(networks)


def _webhook_allow(text: str) -> tuple[str, ...]:
    """Networks (10.20.0.0/16, an address) and host names (hooks.police.internal) webhooks may reach though
    they are not public. Every address is refused once this allows the whole internet, which it never may."""
    allowed = []
    for entry in filter(None, (part.strip().lower() for part in text.split(","))):
        try:
            allowed.append(str(ipaddress.ip_network(entry, strict=False)))
            continue
        except ValueError:
            pass
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*", entry):
            message = f"MARAC_WEBHOOK_ALLOW: {entry!r} is neither a host name nor an IP address or network"
            raise SettingsError(message)
        allowed.append(entry)
    if "0.0.0.0/0" in allowed or "::/0" in allowed:
        raise SettingsError("MARAC_WEBHOOK_ALLOW must not allow every address: name the receivers' own networks")
    return tuple(allowed)


def parse_data_keys(text: str, source: str) -> dict[int, bytes]:
    """Lines or comma-separated entries of VERSION:BASE64KEY (32-byte keys); # starts a comment.

    Entry 0, if any, is not a data key: it holds a former MARAC_SECRET_KEY (`marac keys
    legacy`), which still checks what that key signed before versions (Settings.versioned_keys)."""
    keys: dict[int, bytes] = {}
    entries = [entry.split("#", 1)[0].strip() for line in text.splitlines() for entry in line.split(",")]
    for number, entry in enumerate(filter(None, entries), start=1):
        version, _, encoded = entry.partition(":")
        # Errors name the entry's position, never echo the key.
        if not re.fullmatch(r"[0-9]{1,9}", version):
            raise SettingsError(f"{source}: entry {number} must start with a key version (1, 2, ...)")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if int(version) == 0:
            if not key:
                raise SettingsError(
                    f"{source}: entry {number} (version 0) must hold a former secret key in base64 "
                    "(marac keys legacy prints it)"
                )
        elif len(key) != 32:
            raise SettingsError(f"{source}: entry {number} must hold a base64 32-byte key")
        if int(version) in keys:
            raise SettingsError(f"{source}: key version {version} appears twice")
        keys[int(version)] = key
    return keys


def _data_keys(env_vars: os._Environ[str] | dict[str, str]) -> dict[int, bytes]:
    if env_vars.get("MARAC_DATA_KEY_FILE"):
        path = Path(env_vars["MARAC_DATA_KEY_FILE"])
        try:
            text = path.read_text()
        except OSError as error:
            raise SettingsError(f"MARAC_DATA_KEY_FILE cannot be read ({error.strerror})") from None
        return parse_data_keys(text, "MARAC_DATA_KEY_FILE")
    return parse_data_keys(env_vars.get("MARAC_DATA_KEYS", ""), "MARAC_DATA_KEYS")


def _check_smtp_url(url: str) -> None:
    # The URL may hold a password: errors name the variable, never echo the value.
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES:
        raise SettingsError("MARAC_SMTP_URL must be an smtp:// or smtps:// URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise SettingsError("MARAC_SMTP_URL has an invalid port") from None
    if not parts.hostname:
        raise SettingsError("MARAC_SMTP_URL must name a host")


_current: Settings | None = None


def get() -> Settings:
    global _current
    if _current is None:
        _current = load()
    return _current


def override(settings: Settings | None) -> None:
    """Tests and the CLI set the settings explicitly; None re-reads the environment."""
    global _current
    _current = settings
