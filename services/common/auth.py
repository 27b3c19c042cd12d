"""The one JWT verifier: client tokens (HS256 secret or RS256 JWKS) and service tokens."""

import contextvars
import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from services.common.config import Settings
from services.common.errors import PermissionDenied, Unauthenticated

USER_TOKEN_HEADER = "authorization"
SERVICE_TOKEN_HEADER = "x-costream-service-authorization"
ADMIN_ROLE = "admin"
# The services whose service token may name a user it verified (the gateway verifies every
# client token at the edge, with this same verifier), instead of passing the token on.
VOUCHING_SERVICES = frozenset({"gateway"})
SERVICE_TOKEN_TTL = 300
_LEEWAY = 5
# Verified tokens each process remembers (a few hundred bytes each).
VERIFIED_TOKENS = 20_000


@dataclass(frozen=True)
class Caller:
    """Who is calling: a user (from the client token) and/or a peer service."""

    user_id: str | None = None
    roles: frozenset[str] = frozenset()
    service: str | None = None
    # The raw client token, forwarded to peers so they can verify it again.
    token: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    def require_user(self) -> str:
        if not self.user_id:
            raise Unauthenticated("MISSING_CREDENTIALS", "a user token is required")
        return self.user_id

    def require_admin(self) -> str:
        user_id = self.require_user()
        if not self.is_admin:
            raise PermissionDenied("ADMIN_ONLY", "only an admin may do this")
        return user_id


current_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar(
    "current_caller",
    default=Caller(),  # noqa: B039 (Caller is frozen)
)


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("INVALID_CREDENTIALS", "expected 'Bearer <token>'")
    return token.strip()


class _Verified:
    """Tokens verified before, with when they expire: a client sends the same token with every
    call, and every service checks it again, so each process verifies a token once. Bounded:
    the oldest go first."""

    def __init__(self, size: int = VERIFIED_TOKENS) -> None:
        self._size = size
        self._by_token: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, token: str) -> Any:
        found = self._by_token.get(token)
        if found is None:
            return None
        expires, value = found
        if time.time() >= expires + _LEEWAY:
            del self._by_token[token]
            return None
        self._by_token.move_to_end(token)
        return value

    def put(self, token: str, expires: float, value: Any) -> None:
        self._by_token[token] = (expires, value)
        if len(self._by_token) > self._size:
            self._by_token.popitem(last=False)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._verified_users = _Verified()
        self._verified_services = _Verified()
        self._internal_secret = settings.internal_auth_secret
        self._max_lifetime = settings.auth_max_token_lifetime
        self._audience = settings.auth_audience
        self._issuer = settings.auth_issuer
        self._user_keys: dict[str | None, object] = {}
        if settings.auth_jwks_file:
            with open(settings.auth_jwks_file, encoding="utf-8") as f:
                jwks = jwt.PyJWKSet.from_dict(json.load(f))
            self._user_keys = {key.key_id: key for key in jwks.keys}
            self._user_algorithms = ["RS256"]
        else:
            self._user_keys = {None: settings.auth_jwt_secret}
            self._user_algorithms = ["HS256"]

    def _user_key(self, token: str) -> object:
        if None in self._user_keys:
            return self._user_keys[None]
        kid = jwt.get_unverified_header(token).get("kid")
        if kid in self._user_keys:
            return self._user_keys[kid]
        if kid is None and len(self._user_keys) == 1:
            return next(iter(self._user_keys.values()))
        raise jwt.InvalidTokenError("unknown key id")

    def verify_user(self, token: str) -> Caller:
        caller = self._verified_users.get(token)
        if caller is not None:
            return caller
        try:
            claims = jwt.decode(
                token,
                self._user_key(token),
                algorithms=self._user_algorithms,
                audience=self._audience,
                issuer=self._issuer,
                # No AUTH_AUDIENCE: aud is not checked, so a token that carries one still verifies.
                options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
                leeway=_LEEWAY,
            )
        except jwt.PyJWTError as e:
            raise Unauthenticated("INVALID_CREDENTIALS", f"invalid token: {e}") from None
        # PyJWT has checked that exp, and iat when present, are whole numbers.
        issued = int(claims["iat"]) if "iat" in claims else time.time()
        if int(claims["exp"]) - issued > self._max_lifetime:
            raise Unauthenticated(
                "INVALID_CREDENTIALS", f"invalid token: lives longer than {self._max_lifetime} s"
            )
        sub = claims.get("sub")
        roles = claims.get("roles") or []
        if not isinstance(sub, str) or not 1 <= len(sub) <= 128 or not sub.isprintable():
            raise Unauthenticated("INVALID_CREDENTIALS", "invalid token: bad sub")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("INVALID_CREDENTIALS", "invalid token: bad roles")
        caller = Caller(user_id=sub, roles=frozenset(roles), token=token)
        self._verified_users.put(token, int(claims["exp"]), caller)
        return caller

    def verify_service(self, token: str) -> str:
        service = self._verified_services.get(token)
        if service is not None:
            return service
        try:
            claims = jwt.decode(
                token,
                self._internal_secret,
                algorithms=["HS256"],
                options={"require": ["svc", "exp"]},
                leeway=_LEEWAY,
            )
        except jwt.PyJWTError as e:
            raise Unauthenticated("INVALID_CREDENTIALS", f"invalid service token: {e}") from None
        service = str(claims["svc"])
        self._verified_services.put(token, int(claims["exp"]), service)
        return service

    def authenticate(
        self,
        metadata: Iterable[tuple[str, str | bytes]],
        internal: bool,
        services_too: bool = False,
    ) -> Caller:
        """The caller of an RPC. Internal RPCs need a service token; every other RPC a user
        token, or, for the RPCs open to services too, a service token instead."""
        headers = {k: v for k, v in metadata if isinstance(v, str)}
        user_token = _bearer(headers.get(USER_TOKEN_HEADER))
        service_token = _bearer(headers.get(SERVICE_TOKEN_HEADER))
        caller = self.verify_user(user_token) if user_token else Caller()
        service = self.verify_service(service_token) if service_token else None
        if internal:
            if service is None:
                raise PermissionDenied("INTERNAL_ONLY", "only costream services may call this")
        elif caller.user_id is None and not (services_too and service is not None):
            raise _missing_user_token()
        return Caller(caller.user_id, caller.roles, service, caller.token)

    def authenticate_passed_on(self, user_token: str, service: str | None) -> Caller:
        """The caller of one item of a peer's batch: the client token the peer passed on in
        the request, verified as `authenticate` verifies it in metadata."""
        if not user_token:
            raise _missing_user_token()
        caller = self.verify_user(user_token)
        return Caller(caller.user_id, caller.roles, service, caller.token)


def vouched_caller(user_id: str, service: str | None) -> Caller:
    """The caller of one item of a peer's batch that names its user: a user the gateway
    verified the client token of. Only a vouching service's token may name users, and it names
    them only: no roles travel (a vouched caller is never an admin)."""
    if not user_id:
        raise _missing_user_token()
    if service not in VOUCHING_SERVICES:
        raise PermissionDenied("INTERNAL_ONLY", "only the gateway may name the user it verified")
    return Caller(user_id=user_id, service=service)


def _missing_user_token() -> Unauthenticated:
    return Unauthenticated("MISSING_CREDENTIALS", "send 'authorization: Bearer <JWT>'")


def mint_user_token(
    secret: str, user_id: str, roles: Iterable[str] = (), ttl: int = 3600, now: float | None = None
) -> str:
    """An HS256 client token, for local development and tests."""
    now = time.time() if now is None else now
    claims = {"sub": user_id, "roles": list(roles), "iat": int(now), "exp": int(now + ttl)}
    return jwt.encode(claims, secret, algorithm="HS256")


class ServiceTokenSource:
    """Service tokens for calls to peers, minted once and renewed before they expire."""

    def __init__(self, secret: str, service: str) -> None:
        self._secret = secret
        self._service = service
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        now = time.time()
        if now >= self._renew_at:
            claims = {"svc": self._service, "iat": int(now), "exp": int(now + SERVICE_TOKEN_TTL)}
            self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            self._renew_at = now + SERVICE_TOKEN_TTL / 2
        return self._token
