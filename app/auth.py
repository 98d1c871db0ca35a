"""Bearer tokens → Principal(sub, org, scopes), and the scope check every route declares.

`org` is the tenant. A token whose `org` is not a configured tenant is refused with 403 before
any route runs, so no query can be made for an unknown tenant.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.db import SessionDep
from app.errors import Forbidden, Unauthenticated
from app.keys import Keys
from app.tenants import Tenant

SCOPES = (
    "assessments:write",
    "imports:write",
    "segments:read",
    "consents:write",
    "exports:read",
    "identity:read",
    "analytics:read",
    "audit:read",
)

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    sub: str
    tenant: Tenant
    scopes: frozenset[str]
    purpose: str | None = None

    @property
    def org(self) -> str:
        return self.tenant.id


class TokenVerifier:
    """Verifies signatures with whichever key kind is configured; HS256 is the default."""

    def __init__(self, settings: Settings, keys: Keys) -> None:
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._public_key = settings.jwt_public_key
        self._secret = keys.jwt_secret

    def _key_and_algorithms(self, token: str) -> tuple[object, list[str]]:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
        if self._public_key:
            return self._public_key, ["RS256", "ES256"]
        assert self._secret is not None
        return self._secret, ["HS256"]

    def verify(self, token: str) -> dict[str, object]:
        try:
            key, algorithms = self._key_and_algorithms(token)
            claims: dict[str, object] = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The bearer token is not valid: {type(exc).__name__}.") from exc
        return claims


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_purpose: Annotated[str | None, Header(max_length=200)] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Send `Authorization: Bearer <token>`.")
    claims = request.app.state.token_verifier.verify(credentials.credentials)
    sub, org, scope = claims.get("sub"), claims.get("org"), claims.get("scope", "")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise Unauthenticated("The token's `sub` claim must be a non-empty string.")
    if not isinstance(org, str) or not org:
        raise Unauthenticated("The token has no `org` claim naming the tenant.")
    if not isinstance(scope, str):
        raise Unauthenticated("The token's `scope` claim must be a space-separated string.")
    tenant = request.app.state.tenants.get(org)
    if tenant is None:
        raise Forbidden("The token's organisation is not a configured tenant of this service.")
    return Principal(sub=sub, tenant=tenant, scopes=frozenset(scope.split()), purpose=x_purpose)


def _client_in_path(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.path_params["client_id"]))
    except (KeyError, ValueError):
        return None


def require_scope(scope: str) -> Callable[..., Principal]:
    assert scope in SCOPES, scope

    def dependency(
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        session: SessionDep,
    ) -> Principal:
        if scope not in principal.scopes:
            client_id = _client_in_path(request)
            if client_id is not None:
                # An attempt on a client's data is attributable even when it is refused.
                from app.audit import service as audit

                audit.record_refusal(
                    session,
                    principal,
                    operation=getattr(request.scope.get("route"), "name", "unknown"),
                    client_id=client_id,
                    outcome="forbidden",
                )
            raise Forbidden(f"This operation needs the scope `{scope}`.")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def mint_token(
    secret: str, *, sub: str, org: str, scopes: list[str], ttl_seconds: int = 3600
) -> str:
    """Mint an HS256 token, for local runs and tests; production tokens come from the IdP."""
    import time

    now = int(time.time())
    payload = {
        "sub": sub,
        "org": org,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(payload, secret, algorithm="HS256")
