"""Settings from the environment, and the refusal to run production on defaults."""

import pytest

from services.common.config import ConfigError, load_settings

PRODUCTION = {
    "COSTREAM_ENV": "production",
    "DATABASE_URL": "postgresql://db/costream",
    "AUTH_JWT_SECRET": "a" * 40,
    "INTERNAL_AUTH_SECRET": "b" * 40,
    "LIVEKIT_API_SECRET": "c" * 40,
    "LIVEKIT_PUBLIC_URL": "wss://livekit.example.com",
}


def test_defaults_work_on_a_laptop():
    settings = load_settings("room", {})
    assert settings.port == 50052 and settings.addr("gateway") == "127.0.0.1:50051"
    assert settings.metrics_port == 9102 and settings.log_format == "console"
    assert settings.reconnect_timeout == 180 and settings.database_url is None
    assert settings.auth_max_token_lifetime == 86400
    assert settings.auth_audience is None and settings.auth_issuer is None


def test_client_token_checks_come_from_the_environment():
    settings = load_settings(
        "room",
        {
            "AUTH_MAX_TOKEN_LIFETIME": "3600",
            "AUTH_AUDIENCE": "costream",
            "AUTH_ISSUER": "https://id.example.com",
        },
    )
    assert settings.auth_max_token_lifetime == 3600
    assert settings.auth_audience == "costream"
    assert settings.auth_issuer == "https://id.example.com"


@pytest.mark.parametrize("env", ["development", "test"])
def test_outside_production_the_services_listen_on_loopback_only(env):
    assert load_settings("room", {"COSTREAM_ENV": env}).bind_host == "127.0.0.1"
    explicit = {"COSTREAM_ENV": env, "BIND_HOST": "0.0.0.0"}
    assert load_settings("room", explicit).bind_host == "0.0.0.0"


def test_production_with_real_settings_starts_with_json_logs():
    settings = load_settings("room", PRODUCTION)
    assert settings.production and settings.log_format == "json"
    assert settings.bind_host == "0.0.0.0"


@pytest.mark.parametrize(
    ("env", "reflection"),
    [
        ({}, True),
        ({"COSTREAM_ENV": "test"}, True),
        (PRODUCTION, False),
        ({**PRODUCTION, "GRPC_REFLECTION": "true"}, True),
        ({**PRODUCTION, "GRPC_REFLECTION": "1"}, True),
        ({"GRPC_REFLECTION": "false"}, False),
        ({"GRPC_REFLECTION": "FALSE"}, False),
        ({"GRPC_REFLECTION": "0"}, False),
    ],
)
def test_reflection_is_off_in_production_unless_turned_on(env, reflection):
    assert load_settings("room", env).grpc_reflection is reflection


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AUTH_JWT_SECRET": "dev-auth-secret-change-me-0123456789"}, "AUTH_JWT_SECRET"),
        ({"INTERNAL_AUTH_SECRET": ""}, "INTERNAL_AUTH_SECRET"),
        ({"LIVEKIT_API_SECRET": "short"}, "LIVEKIT_API_SECRET"),
        ({"LIVEKIT_PUBLIC_URL": "ws://livekit.example.com"}, "LIVEKIT_PUBLIC_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
    ],
)
def test_production_refuses_default_or_unsafe_settings(change, message):
    # broadcast reads every secret, so every check applies to it.
    with pytest.raises(ConfigError) as e:
        load_settings("broadcast", {**PRODUCTION, "LIVEKIT_URL": "https://lk.example", **change})
    assert message in str(e.value) and "refusing to start in production" in str(e.value)


def test_production_refuses_a_service_with_a_database_but_no_database_url():
    with pytest.raises(ConfigError) as e:
        load_settings("room", {**PRODUCTION, "DATABASE_URL": ""})
    assert "DATABASE_URL" in str(e.value) and "refusing to start in production" in str(e.value)


def test_the_broadcast_service_needs_livekit_url_in_production():
    assert load_settings("room", PRODUCTION).livekit_url is None
    with pytest.raises(ConfigError, match="LIVEKIT_URL"):
        load_settings("broadcast", PRODUCTION)
    settings = load_settings("broadcast", {**PRODUCTION, "LIVEKIT_URL": "https://lk.example.com"})
    assert settings.livekit_url == "https://lk.example.com"


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def test_in_production_the_gateway_needs_neither_a_database_nor_the_livekit_secret():
    settings = load_settings("gateway", _without(PRODUCTION, "DATABASE_URL", "LIVEKIT_API_SECRET"))
    assert settings.production and settings.database_url is None


@pytest.mark.parametrize("service", ["gateway", "room", "post", "invitation"])
def test_in_production_only_broadcast_needs_the_livekit_secret(service):
    assert load_settings(service, _without(PRODUCTION, "LIVEKIT_API_SECRET")).production
    broadcast = {**_without(PRODUCTION, "LIVEKIT_API_SECRET"), "LIVEKIT_URL": "https://lk.example"}
    with pytest.raises(ConfigError, match="LIVEKIT_API_SECRET"):
        load_settings("broadcast", broadcast)


@pytest.mark.parametrize("service", ["room", "post", "invitation", "broadcast"])
def test_in_production_every_service_with_a_database_needs_database_url(service):
    env = {**_without(PRODUCTION, "DATABASE_URL"), "LIVEKIT_URL": "https://lk.example"}
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(service, env)


@pytest.mark.parametrize("service", ["gateway", "room", "post", "invitation", "broadcast"])
def test_in_production_every_service_needs_both_auth_secrets(service):
    env = {**PRODUCTION, "LIVEKIT_URL": "https://lk.example"}
    for name in ("AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET"):
        with pytest.raises(ConfigError, match=name):
            load_settings(service, _without(env, name))


def test_a_missing_secret_in_production_is_a_default_secret():
    env = dict(PRODUCTION)
    del env["INTERNAL_AUTH_SECRET"]
    with pytest.raises(ConfigError, match="INTERNAL_AUTH_SECRET"):
        load_settings("room", env)


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_a_client_secret_equal_to_the_internal_secret_is_refused_everywhere(env):
    same = {**PRODUCTION, "COSTREAM_ENV": env, "AUTH_JWT_SECRET": "s" * 40}
    same["INTERNAL_AUTH_SECRET"] = same["AUTH_JWT_SECRET"]
    with pytest.raises(ConfigError) as e:
        load_settings("room", same)
    assert "AUTH_JWT_SECRET and INTERNAL_AUTH_SECRET must differ" in str(e.value)
    assert str(e.value).startswith("refusing to start")


def test_equal_secrets_are_allowed_when_client_tokens_come_from_a_jwks_file():
    same = {**PRODUCTION, "AUTH_JWT_SECRET": "s" * 40, "INTERNAL_AUTH_SECRET": "s" * 40}
    settings = load_settings("room", {**same, "AUTH_JWKS_FILE": "/etc/costream/jwks.json"})
    assert settings.auth_jwks_file == "/etc/costream/jwks.json"


@pytest.mark.parametrize(
    "env",
    [
        {"TOKEN_TTL": "ten"},
        {"RECONNECT_TIMEOUT": "0"},
        {"AUTH_MAX_TOKEN_LIFETIME": "a day"},
        {"AUTH_MAX_TOKEN_LIFETIME": "0"},
        {"COSTREAM_ENV": "staging"},
        {"LOG_FORMAT": "xml"},
        {"GRPC_REFLECTION": "yes please"},
        {"LIVEKIT_RECONCILE_PER_SECOND": "-1"},
        {"LIVEKIT_RECONCILE_SECONDS": "soon"},
        {"LIVEKIT_REMOTE_UNMUTE": "maybe"},
    ],
)
def test_malformed_settings_fail_loudly(env):
    with pytest.raises(ConfigError):
        load_settings("room", env)


def test_reconciliation_with_livekit_runs_every_10_s_unless_turned_off():
    default = load_settings("room", {})
    assert (default.livekit_reconcile_seconds, default.livekit_reconcile_per_second) == (10, 20)
    off = load_settings(
        "room", {"LIVEKIT_RECONCILE_PER_SECOND": "0", "LIVEKIT_RECONCILE_SECONDS": "2.5"}
    )
    assert (off.livekit_reconcile_seconds, off.livekit_reconcile_per_second) == (2.5, 0)


def test_remote_unmute_is_off_as_livekits_default_unless_turned_on():
    assert load_settings("room", {}).livekit_remote_unmute is False
    assert load_settings("room", {"LIVEKIT_REMOTE_UNMUTE": "true"}).livekit_remote_unmute is True


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"LIVEKIT_REMOTE_UNMUTE": "true"}, True),
        ({"LIVEKIT_REMOTE_UNMUTE": "true", "EMULATOR_REMOTE_UNMUTE": "false"}, False),
        ({"EMULATOR_REMOTE_UNMUTE": "1"}, True),
    ],
)
def test_the_emulator_allows_remote_unmute_as_costream_is_told_unless_set_alone(env, enabled):
    from tools.livekit_emulator import EmulatorSettings

    assert EmulatorSettings.from_env(env).enable_remote_unmute is enabled


def test_room_feeds_are_read_from_the_environment_with_laptop_defaults():
    defaults = load_settings("gateway", {})
    assert (defaults.room_feeds, defaults.room_feed_idle_seconds) == (1000, 30.0)
    set_ = load_settings("gateway", {"ROOM_FEEDS": "0", "ROOM_FEED_IDLE_SECONDS": "2.5"})
    assert (set_.room_feeds, set_.room_feed_idle_seconds) == (0, 2.5)
    for bad in ({"ROOM_FEEDS": "-1"}, {"ROOM_FEEDS": "many"}, {"ROOM_FEED_IDLE_SECONDS": "-3"}):
        with pytest.raises(ConfigError):
            load_settings("gateway", bad)


def test_the_whip_url_is_off_by_default_and_given_as_configured():
    assert load_settings("broadcast", {}).livekit_whip_url == ""
    configured = load_settings("broadcast", {"LIVEKIT_WHIP_URL": " https://ingress.example/w "})
    assert configured.livekit_whip_url == "https://ingress.example/w"


def test_the_gateways_http_port_and_cors_origins_default_to_the_console_on_8080():
    settings = load_settings("gateway", {})
    assert settings.gateway_http_port == 8080
    assert settings.cors_allowed_origins == ("http://127.0.0.1:8080", "http://localhost:8080")
    moved = load_settings("gateway", {"GATEWAY_HTTP_PORT": "9090"})
    assert moved.cors_allowed_origins == ("http://127.0.0.1:9090", "http://localhost:9090")


def test_cors_origins_are_read_comma_separated_and_must_be_origins():
    settings = load_settings(
        "gateway", {"CORS_ALLOWED_ORIGINS": "https://app.example.com/, http://localhost:3000"}
    )
    assert settings.cors_allowed_origins == ("https://app.example.com", "http://localhost:3000")
    assert load_settings("gateway", {"CORS_ALLOWED_ORIGINS": ""}).cors_allowed_origins == ()
    with pytest.raises(ConfigError, match="CORS_ALLOWED_ORIGINS"):
        load_settings("gateway", {"CORS_ALLOWED_ORIGINS": "app.example.com/path"})
