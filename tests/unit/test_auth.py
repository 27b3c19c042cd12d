"""The one JWT verifier: client tokens, service tokens, internal RPCs."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.auth import (
    SERVICE_TOKEN_HEADER,
    ServiceTokenSource,
    TokenVerifier,
    mint_user_token,
    vouched_caller,
)
from services.common.config import DEV_AUTH_JWT_SECRET, DEV_INTERNAL_AUTH_SECRET, Settings
from services.common.errors import PermissionDenied, Unauthenticated

VERIFIER = TokenVerifier(Settings(service="room"))


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def service_header() -> tuple[str, str]:
    return (
        SERVICE_TOKEN_HEADER,
        f"Bearer {ServiceTokenSource(DEV_INTERNAL_AUTH_SECRET, 'post').token()}",
    )


def test_a_valid_user_token_names_the_caller_and_roles():
    caller = VERIFIER.authenticate(
        bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "alice", ["admin"])), False
    )
    assert caller.user_id == "alice" and caller.is_admin and caller.service is None


def test_no_token_is_missing_credentials():
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate([], False)
    assert e.value.reason == "MISSING_CREDENTIALS"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {mint_user_token('another-secret-of-enough-length-000000', 'alice')}",
        f"Bearer {mint_user_token(DEV_AUTH_JWT_SECRET, 'alice', ttl=-60)}",
        f"Bearer {jwt.encode({'sub': 'alice', 'exp': int(time.time()) + 60}, key=None, algorithm='none')}",
        f"Bearer {jwt.encode({'exp': int(time.time()) + 60}, DEV_AUTH_JWT_SECRET, algorithm='HS256')}",
        f"Bearer {jwt.encode({'sub': 'alice'}, DEV_AUTH_JWT_SECRET, algorithm='HS256')}",
        f"Bearer {jwt.encode({'sub': 'a', 'roles': 'admin', 'exp': int(time.time()) + 60}, DEV_AUTH_JWT_SECRET, algorithm='HS256')}",
        "Bearer x.y.z",
        "Bearer ",
        "Basic YWxpY2U6cHc=",
        "garbage",
    ],
    ids=[
        "wrong-secret",
        "expired",
        "unsigned",
        "no-sub",
        "no-exp",
        "bad-roles",
        "malformed",
        "empty",
        "basic",
        "no-scheme",
    ],
)
def test_bad_tokens_are_invalid_credentials(header):
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate([("authorization", header)], False)
    assert e.value.reason in ("INVALID_CREDENTIALS", "MISSING_CREDENTIALS")
    if header.strip() not in ("Bearer",):
        assert e.value.reason == "INVALID_CREDENTIALS"


def test_internal_rpcs_need_a_service_token():
    with pytest.raises(PermissionDenied) as e:
        VERIFIER.authenticate(bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "alice")), True)
    assert e.value.reason == "INTERNAL_ONLY"
    caller = VERIFIER.authenticate([service_header()], True)
    assert caller.service == "post" and caller.user_id is None


def test_rpcs_open_to_services_too_take_a_service_token_or_a_user_token():
    service = VERIFIER.authenticate([service_header()], False, services_too=True)
    assert service.service == "post" and service.user_id is None
    user = VERIFIER.authenticate(
        bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "alice")), False, services_too=True
    )
    assert user.user_id == "alice" and user.service is None
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate([], False, services_too=True)
    assert e.value.reason == "MISSING_CREDENTIALS"
    # Any other client RPC still wants the user's own token.
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate([service_header()], False)
    assert e.value.reason == "MISSING_CREDENTIALS"


def test_a_service_token_signed_with_the_client_secret_is_refused():
    forged = jwt.encode({"svc": "post", "exp": int(time.time()) + 60}, DEV_AUTH_JWT_SECRET, "HS256")
    with pytest.raises(Unauthenticated):
        VERIFIER.authenticate([(SERVICE_TOKEN_HEADER, f"Bearer {forged}")], True)


def test_a_client_token_signed_with_the_internal_secret_is_refused():
    forged = mint_user_token(DEV_INTERNAL_AUTH_SECRET, "alice")
    with pytest.raises(Unauthenticated):
        VERIFIER.authenticate(bearer(forged), False)


def test_rs256_tokens_verify_against_a_jwks_file(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "RS256", "use": "sig"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(Settings(service="gateway", auth_jwks_file=str(path)))
    claims = {"sub": "carol", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.authenticate(bearer(token), False).user_id == "carol"
    hs = mint_user_token(DEV_AUTH_JWT_SECRET, "carol")
    with pytest.raises(Unauthenticated):
        verifier.authenticate(bearer(hs), False)


def _claims_token(**claims: object) -> str:
    return jwt.encode({"sub": "alice", **claims}, DEV_AUTH_JWT_SECRET, algorithm="HS256")


def test_a_client_token_may_live_a_day_and_no_longer():
    day = 86400
    assert VERIFIER.authenticate(bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "a", ttl=day)), False)
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate(bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "a", ttl=day + 1)), False)
    assert e.value.reason == "INVALID_CREDENTIALS"


def test_a_token_issued_long_ago_is_refused_even_when_it_expires_soon():
    now = time.time()
    old = mint_user_token(DEV_AUTH_JWT_SECRET, "alice", ttl=86400 + 60, now=now - 86400)
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate(bearer(old), False)
    assert e.value.reason == "INVALID_CREDENTIALS"


def test_a_token_without_iat_may_not_expire_later_than_the_maximum_lifetime_from_now():
    now = int(time.time())
    assert VERIFIER.authenticate(bearer(_claims_token(exp=now + 3600)), False).user_id == "alice"
    with pytest.raises(Unauthenticated) as e:
        VERIFIER.authenticate(bearer(_claims_token(exp=now + 86400 + 60)), False)
    assert e.value.reason == "INVALID_CREDENTIALS"


def test_the_maximum_lifetime_is_a_setting():
    verifier = TokenVerifier(Settings(service="room", auth_max_token_lifetime=60))
    assert verifier.authenticate(bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "a", ttl=60)), False)
    with pytest.raises(Unauthenticated):
        verifier.authenticate(bearer(mint_user_token(DEV_AUTH_JWT_SECRET, "a", ttl=61)), False)


def test_without_a_configured_audience_or_issuer_tokens_carrying_them_still_verify():
    exp = int(time.time()) + 60
    for token in (
        _claims_token(exp=exp, aud="some-api"),
        _claims_token(exp=exp, aud=["some-api", "another"]),
        _claims_token(exp=exp, iss="https://id.example.com"),
    ):
        assert VERIFIER.authenticate(bearer(token), False).user_id == "alice"


@pytest.mark.parametrize(
    ("aud", "accepted"),
    [("costream", True), (["other", "costream"], True), ("other", False), (None, False)],
    ids=["same", "among-several", "another", "missing"],
)
def test_a_configured_audience_must_be_in_the_token(aud, accepted):
    verifier = TokenVerifier(Settings(service="room", auth_audience="costream"))
    claims = {"exp": int(time.time()) + 60} | ({} if aud is None else {"aud": aud})
    header = bearer(_claims_token(**claims))
    if accepted:
        assert verifier.authenticate(header, False).user_id == "alice"
    else:
        with pytest.raises(Unauthenticated) as e:
            verifier.authenticate(header, False)
        assert e.value.reason == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    ("iss", "accepted"),
    [("https://id.example.com", True), ("https://evil.example.com", False), (None, False)],
    ids=["same", "another", "missing"],
)
def test_a_configured_issuer_must_be_the_tokens(iss, accepted):
    verifier = TokenVerifier(Settings(service="room", auth_issuer="https://id.example.com"))
    claims = {"exp": int(time.time()) + 60} | ({} if iss is None else {"iss": iss})
    header = bearer(_claims_token(**claims))
    if accepted:
        assert verifier.authenticate(header, False).user_id == "alice"
    else:
        with pytest.raises(Unauthenticated) as e:
            verifier.authenticate(header, False)
        assert e.value.reason == "INVALID_CREDENTIALS"


def test_a_token_verified_before_is_refused_once_it_expires(monkeypatch):
    verifier = TokenVerifier(Settings(service="room"))
    now = time.time()
    token = mint_user_token(DEV_AUTH_JWT_SECRET, "alice", ttl=60, now=now)
    assert verifier.verify_user(token).user_id == "alice"

    def expired(*_args, **_kwargs):
        raise jwt.ExpiredSignatureError("Signature has expired")

    # From now on PyJWT finds it expired: within the leeway the verifier still has it, past it
    # the verifier asks PyJWT again and refuses.
    monkeypatch.setattr(jwt, "decode", expired)
    monkeypatch.setattr(time, "time", lambda: now + 60 + 4)
    assert verifier.verify_user(token).user_id == "alice"
    monkeypatch.setattr(time, "time", lambda: now + 60 + 6)
    with pytest.raises(Unauthenticated) as e:
        verifier.verify_user(token)
    assert e.value.reason == "INVALID_CREDENTIALS"


def test_a_token_refused_once_is_refused_again():
    verifier = TokenVerifier(Settings(service="room"))
    forged = mint_user_token("another-secret-of-enough-length-000000", "alice")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify_user(forged)


def test_a_token_passed_on_in_a_request_is_verified_as_in_metadata():
    token = mint_user_token(DEV_AUTH_JWT_SECRET, "alice", ["admin"])
    caller = VERIFIER.authenticate_passed_on(token, "gateway")
    assert (caller.user_id, caller.is_admin, caller.service, caller.token) == (
        "alice",
        True,
        "gateway",
        token,
    )
    for bad, reason in (("", "MISSING_CREDENTIALS"), ("nope", "INVALID_CREDENTIALS")):
        with pytest.raises(Unauthenticated) as refused:
            VERIFIER.authenticate_passed_on(bad, "gateway")
        with pytest.raises(Unauthenticated) as alone:
            VERIFIER.authenticate(bearer(bad) if bad else [], False)
        assert refused.value.reason == reason
        assert (refused.value.reason, refused.value.message) == (
            alone.value.reason,
            alone.value.message,
        )


def test_only_the_gateway_names_the_user_it_verified_and_no_roles_come_with_the_name():
    caller = vouched_caller("alice", "gateway")
    assert (caller.user_id, caller.roles, caller.service, caller.token) == (
        "alice",
        frozenset(),
        "gateway",
        None,
    )
    assert not caller.is_admin
    for service in ("post", "room", "tests", None):
        with pytest.raises(PermissionDenied) as refused:
            vouched_caller("alice", service)
        assert refused.value.reason == "INTERNAL_ONLY"
    with pytest.raises(Unauthenticated) as missing:
        vouched_caller("", "gateway")
    assert missing.value.reason == "MISSING_CREDENTIALS"
