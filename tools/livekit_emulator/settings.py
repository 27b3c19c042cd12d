import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.common.config import LOCAL_LIVEKIT_PORT

DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "dev-livekit-secret-change-me-01234567"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8088/livekit/webhook"
# livekit-server's ingress.rtmp_base_url / whip_base_url, at livekit/ingress' default ports
# (RTMP 1935, WHIP 8080; WHIP endpoints are /w/<stream key>).
DEFAULT_RTMP_URL = "rtmp://127.0.0.1:1935/live"
DEFAULT_WHIP_URL = "http://127.0.0.1:8080/w"


@dataclass(frozen=True)
class EmulatorSettings:
    api_key: str = DEFAULT_API_KEY
    api_secret: str = field(default=DEFAULT_API_SECRET, repr=False)
    host: str = "127.0.0.1"
    port: int = LOCAL_LIVEKIT_PORT  # 0 picks a free port
    webhook_urls: tuple[str, ...] = (DEFAULT_WEBHOOK_URL,)
    # livekit-server checks for idle rooms every second.
    idle_check_interval_s: float = 1.0
    webhook_max_retries: int = 4
    webhook_retry_backoff_s: float = 0.5
    # livekit/protocol's DefaultResourceURLNotifierConfig: MaxDepth 200, MaxAge 30 s.
    webhook_max_depth: int = 200
    webhook_max_age_s: float = 30.0
    # room.enable_remote_unmute, false by default on the real server.
    enable_remote_unmute: bool = False
    rtmp_url: str = DEFAULT_RTMP_URL
    whip_url: str = DEFAULT_WHIP_URL
    # Time between an egress's own steps: STARTING → ACTIVE, ENDING → COMPLETE, ACTIVE → FAILED.
    egress_step_s: float = 0.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "EmulatorSettings":
        if environ.get("COSTREAM_ENV") == "production":
            raise RuntimeError("the LiveKit emulator is for development and tests only")
        urls = environ.get("EMULATOR_WEBHOOK_URLS", DEFAULT_WEBHOOK_URL)
        return cls(
            api_key=environ.get("LIVEKIT_API_KEY") or DEFAULT_API_KEY,
            api_secret=environ.get("LIVEKIT_API_SECRET") or DEFAULT_API_SECRET,
            host=environ.get("EMULATOR_HOST") or "127.0.0.1",
            port=int(environ.get("EMULATOR_PORT") or LOCAL_LIVEKIT_PORT),
            webhook_urls=tuple(u.strip() for u in urls.split(",") if u.strip()),
            webhook_max_depth=int(
                environ.get("EMULATOR_WEBHOOK_MAX_DEPTH") or cls.webhook_max_depth
            ),
            webhook_max_age_s=float(
                environ.get("EMULATOR_WEBHOOK_MAX_AGE_SECONDS") or cls.webhook_max_age_s
            ),
            rtmp_url=environ.get("EMULATOR_RTMP_URL") or DEFAULT_RTMP_URL,
            whip_url=environ.get("EMULATOR_WHIP_URL") or DEFAULT_WHIP_URL,
            # As costream is told (LIVEKIT_REMOTE_UNMUTE), unless set for the emulator alone.
            enable_remote_unmute=(
                environ.get("EMULATOR_REMOTE_UNMUTE") or environ.get("LIVEKIT_REMOTE_UNMUTE") or ""
            )
            .strip()
            .lower()
            in ("true", "1"),
        )
