"""Typed settings, read once from the environment at start (see shared spec config.md)."""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

DEV_AUTH_JWT_SECRET = "dev-auth-secret-change-me-0123456789"
DEV_INTERNAL_AUTH_SECRET = "dev-internal-secret-change-me-012345"
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "dev-livekit-secret-change-me-01234567"
DEV_SECRETS = frozenset({DEV_AUTH_JWT_SECRET, DEV_INTERNAL_AUTH_SECRET, DEV_LIVEKIT_API_SECRET})

SERVICES = ("gateway", "room", "post", "invitation", "broadcast")
GRPC_PORTS = {
    "gateway": 50051,
    "room": 50052,
    "post": 50053,
    "invitation": 50054,
    "broadcast": 50055,
}
METRICS_PORTS = {"gateway": 9101, "room": 9102, "post": 9103, "invitation": 9104, "broadcast": 9105}
MIN_SECRET_LENGTH = 32
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
# The secrets each service reads; deploy/k8s mounts exactly these on its pods. The LiveKit API
# secret never leaves broadcast, and the gateway has no database.
SECRETS = ("DATABASE_URL", "AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET", "LIVEKIT_API_SECRET")
_WITH_DATABASE = frozenset({"DATABASE_URL", "AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET"})
SERVICE_SECRETS: Mapping[str, frozenset[str]] = {
    "gateway": frozenset({"AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET"}),
    "room": _WITH_DATABASE,
    "post": _WITH_DATABASE,
    "invitation": _WITH_DATABASE,
    "broadcast": frozenset(SECRETS),
}
# Where `make run` starts the LiveKit emulator when LIVEKIT_URL is not set.
LOCAL_LIVEKIT_PORT = 7880
LOCAL_LIVEKIT_URL = f"http://127.0.0.1:{LOCAL_LIVEKIT_PORT}"
LOCAL_LIVEKIT_PUBLIC_URL = f"ws://127.0.0.1:{LOCAL_LIVEKIT_PORT}"


class ConfigError(Exception):
    """The settings cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Settings:
    service: str
    env: str = "development"
    database_url: str | None = None
    auth_jwt_secret: str = DEV_AUTH_JWT_SECRET
    auth_jwks_file: str | None = None
    # Client tokens: the longest exp - iat accepted, and the aud/iss they must carry (None: any).
    auth_max_token_lifetime: int = 86400
    auth_audience: str | None = None
    auth_issuer: str | None = None
    internal_auth_secret: str = DEV_INTERNAL_AUTH_SECRET
    livekit_url: str | None = None
    livekit_public_url: str = LOCAL_LIVEKIT_PUBLIC_URL
    livekit_api_key: str = DEV_LIVEKIT_API_KEY
    livekit_api_secret: str = field(default=DEV_LIVEKIT_API_SECRET, repr=False)
    token_ttl: int = 900
    invitation_ttl: int = 600
    reconnect_timeout: int = 180
    max_live_duration: int = 14400
    grpc_ports: Mapping[str, int] = field(default_factory=lambda: dict(GRPC_PORTS))
    service_addrs: Mapping[str, str] = field(default_factory=dict)
    broadcast_http_port: int = 8088
    # The gateway's HTTP/1.1 port for browsers (Connect, gRPC-Web, the console), and the
    # origins a browser may call it from (services/gateway/web.py).
    gateway_http_port: int = 8080
    cors_allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8080", "http://localhost:8080")
    # 0: no metrics endpoint.
    metrics_port: int = 0
    bind_host: str = "127.0.0.1"
    log_format: str = "console"
    log_level: int = logging.INFO
    shutdown_grace: float = 10.0
    # After NOT_SERVING, how long a service keeps serving before it refuses new calls.
    shutdown_delay: float = 0.5
    db_pool_max_size: int = 10
    rate_limit_per_minute: int = 600
    peer_timeout: float = 5.0
    # An idle Watch stream is sent a keepalive this often.
    watch_keepalive_seconds: float = 15.0
    max_streams_per_user: int = 20
    # Hot rooms each gateway replica serves from a WatchRoom feed of its own, 0 for none, and
    # how long a feed nobody reads (or watches) stays open (services/gateway/room_feeds.py).
    room_feeds: int = 1000
    room_feed_idle_seconds: float = 30.0
    # Each room with a LiveKit session is compared with LiveKit's participants this often,
    # at most this many rooms a second per room replica, 0 for none
    # (services/room/livekit/reconcile.py).
    livekit_reconcile_seconds: float = 10.0
    livekit_reconcile_per_second: int = 20
    # Whether LiveKit allows remote unmute (its room.enable_remote_unmute): MuteParticipant
    # with muted=false is refused otherwise.
    livekit_remote_unmute: bool = False
    # Recordings (LiveKit Egress, services/broadcast/recording.py): where egress writes them
    # (a file path prefix on the egress workers, or s3://bucket/prefix with the RECORDING_S3_*
    # settings), whether they also write HLS for live playback, the URL prefix that turns a
    # stored location into a playback URL, and how long an egress may take to start.
    recording_output: str = "recordings/"
    recording_hls: bool = False
    recording_s3_access_key: str = ""
    recording_s3_secret: str = field(default="", repr=False)
    recording_s3_region: str = ""
    recording_s3_endpoint: str = ""
    playback_base_url: str = f"http://127.0.0.1:{LOCAL_LIVEKIT_PORT}/recordings/"
    egress_start_timeout: float = 60.0
    # Direct streaming: the WHIP endpoint given to hosts with their stream key as its bearer
    # token, as it is; empty: WHIP is not offered (LiveKit's RTMP ingress takes RTMP only).
    livekit_whip_url: str = ""
    # gRPC server reflection (grpcurl, Postman): off by default in production.
    grpc_reflection: bool = True

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def port(self) -> int:
        return self.grpc_ports[self.service]

    def addr(self, peer: str) -> str:
        return self.service_addrs[peer]

    def problems(self) -> list[str]:
        """Why these settings must not run in any environment; empty when they may."""
        if not self.auth_jwks_file and self.auth_jwt_secret == self.internal_auth_secret:
            # Otherwise whoever can sign client tokens can sign service tokens too.
            return [
                "AUTH_JWT_SECRET and INTERNAL_AUTH_SECRET must differ (a client token must "
                "never pass as a service token)"
            ]
        return []

    def production_problems(self) -> list[str]:
        """Why these settings must not run in production; empty when they may. Only the
        secrets this service reads are checked (any other service name: all of them)."""
        problems = []
        reads = set(SERVICE_SECRETS.get(self.service, SECRETS))
        if self.auth_jwks_file:
            reads.discard("AUTH_JWT_SECRET")
        values = {
            "AUTH_JWT_SECRET": self.auth_jwt_secret,
            "INTERNAL_AUTH_SECRET": self.internal_auth_secret,
            "LIVEKIT_API_SECRET": self.livekit_api_secret,
        }
        for name, value in values.items():
            if name not in reads:
                continue
            if not value or value in DEV_SECRETS:
                problems.append(f"{name} is empty or the development default")
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
        if urlparse(self.livekit_public_url).scheme != "wss":
            problems.append("LIVEKIT_PUBLIC_URL must be a wss:// address")
        if "DATABASE_URL" in reads and not self.database_url:
            problems.append("DATABASE_URL is not set")
        if self.service == "broadcast" and not self.livekit_url:
            problems.append("LIVEKIT_URL is not set")
        return problems


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value < 3600:
        raise ConfigError(f"{name} must be from 0 to 3600 seconds, got {raw!r}")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("true", "false", "1", "0"):
        raise ConfigError(f"{name} must be true or false, got {environ[name]!r}")
    return raw in ("true", "1")


def _default_bind_host(env: str) -> str:
    """Every interface in production (a container); loopback on a laptop and in tests, which
    run on development secrets."""
    return "0.0.0.0" if env == "production" else "127.0.0.1"  # noqa: S104


def _origins(environ: Mapping[str, str], http_port: int) -> tuple[str, ...]:
    """CORS_ALLOWED_ORIGINS, comma-separated; unset, the gateway's own console origins."""
    raw = environ.get("CORS_ALLOWED_ORIGINS")
    if raw is None:
        return (f"http://127.0.0.1:{http_port}", f"http://localhost:{http_port}")
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path:
            raise ConfigError(
                f"CORS_ALLOWED_ORIGINS lists origins (https://app.example.com), got {origin!r}"
            )
    return origins


def load_settings(service: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of one service; raise ConfigError when they are unusable."""
    environ = os.environ if environ is None else environ
    env = environ.get("COSTREAM_ENV", "development")
    if env not in ("development", "production", "test"):
        raise ConfigError(f"COSTREAM_ENV must be development, test or production, got {env!r}")
    ports = {name: _int(environ, f"{name.upper()}_PORT", port) for name, port in GRPC_PORTS.items()}
    addrs = {
        name: environ.get(f"{name.upper()}_SERVICE_ADDR") or f"127.0.0.1:{ports[name]}"
        for name in SERVICES
    }
    http_port = _int(environ, "GATEWAY_HTTP_PORT", 8080)
    log_format = environ.get("LOG_FORMAT") or ("console" if env == "development" else "json")
    if log_format not in ("console", "json"):
        raise ConfigError(f"LOG_FORMAT must be console or json, got {log_format!r}")
    log_level = environ.get("LOG_LEVEL", "info").strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    settings = Settings(
        service=service,
        env=env,
        database_url=environ.get("DATABASE_URL") or None,
        auth_jwt_secret=environ.get("AUTH_JWT_SECRET", DEV_AUTH_JWT_SECRET),
        auth_jwks_file=environ.get("AUTH_JWKS_FILE") or None,
        auth_max_token_lifetime=_int(environ, "AUTH_MAX_TOKEN_LIFETIME", 86400),
        auth_audience=environ.get("AUTH_AUDIENCE") or None,
        auth_issuer=environ.get("AUTH_ISSUER") or None,
        internal_auth_secret=environ.get("INTERNAL_AUTH_SECRET", DEV_INTERNAL_AUTH_SECRET),
        livekit_url=environ.get("LIVEKIT_URL") or None,
        livekit_public_url=environ.get("LIVEKIT_PUBLIC_URL", LOCAL_LIVEKIT_PUBLIC_URL),
        livekit_api_key=environ.get("LIVEKIT_API_KEY", DEV_LIVEKIT_API_KEY),
        livekit_api_secret=environ.get("LIVEKIT_API_SECRET", DEV_LIVEKIT_API_SECRET),
        token_ttl=_int(environ, "TOKEN_TTL", 900),
        invitation_ttl=_int(environ, "INVITATION_TTL", 600),
        reconnect_timeout=_int(environ, "RECONNECT_TIMEOUT", 180),
        max_live_duration=_int(environ, "MAX_LIVE_DURATION", 14400),
        grpc_ports=ports,
        service_addrs=addrs,
        broadcast_http_port=_int(environ, "BROADCAST_HTTP_PORT", 8088),
        gateway_http_port=http_port,
        cors_allowed_origins=_origins(environ, http_port),
        metrics_port=_int(environ, "METRICS_PORT", METRICS_PORTS.get(service, 0), minimum=0),
        bind_host=environ.get("BIND_HOST") or _default_bind_host(env),
        log_format=log_format,
        log_level=LOG_LEVELS[log_level],
        shutdown_grace=float(_int(environ, "SHUTDOWN_GRACE_SECONDS", 10)),
        shutdown_delay=_seconds(
            environ, "SHUTDOWN_DELAY_SECONDS", 5.0 if env == "production" else 0.5
        ),
        db_pool_max_size=_int(environ, "DB_POOL_MAX_SIZE", 10),
        rate_limit_per_minute=_int(environ, "RATE_LIMIT_PER_MINUTE", 600),
        peer_timeout=float(_int(environ, "PEER_TIMEOUT_SECONDS", 5)),
        watch_keepalive_seconds=float(_int(environ, "WATCH_KEEPALIVE_SECONDS", 15)),
        max_streams_per_user=_int(environ, "MAX_STREAMS_PER_USER", 20),
        room_feeds=_int(environ, "ROOM_FEEDS", 1000, minimum=0),
        room_feed_idle_seconds=_seconds(environ, "ROOM_FEED_IDLE_SECONDS", 30.0),
        livekit_reconcile_seconds=_seconds(environ, "LIVEKIT_RECONCILE_SECONDS", 10.0),
        livekit_reconcile_per_second=_int(environ, "LIVEKIT_RECONCILE_PER_SECOND", 20, minimum=0),
        livekit_remote_unmute=_bool(environ, "LIVEKIT_REMOTE_UNMUTE", False),
        recording_output=environ.get("RECORDING_OUTPUT") or "recordings/",
        recording_hls=_bool(environ, "RECORDING_HLS", False),
        recording_s3_access_key=environ.get("RECORDING_S3_ACCESS_KEY", ""),
        recording_s3_secret=environ.get("RECORDING_S3_SECRET", ""),
        recording_s3_region=environ.get("RECORDING_S3_REGION", ""),
        recording_s3_endpoint=environ.get("RECORDING_S3_ENDPOINT", ""),
        playback_base_url=environ.get("PLAYBACK_BASE_URL")
        or f"http://127.0.0.1:{LOCAL_LIVEKIT_PORT}/recordings/",
        egress_start_timeout=_seconds(environ, "EGRESS_START_TIMEOUT", 60.0),
        livekit_whip_url=environ.get("LIVEKIT_WHIP_URL", "").strip(),
        grpc_reflection=_bool(environ, "GRPC_REFLECTION", env != "production"),
    )
    problems = settings.problems()
    if settings.production:
        problems += settings.production_problems()
    if problems:
        where = " in production" if settings.production else ""
        raise ConfigError(f"refusing to start{where}: " + "; ".join(problems))
    return settings
