"""Bearer tokens → Principal(sub, tenant, scopes), and the scope each operation requires.

`org` is the tenant. A token whose `org` is not a configured tenant is refused with 403 before
any route runs, so no query can be made for an unknown tenant. The owner of a request
(app/routing.py) authenticates and checks the scope before the body is read; `require_scope`
declares the scope and hands the endpoint the principal already checked.
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

import jwt
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.errors import Forbidden, ServiceUnavailable, Unauthenticated
from app.keys import KeyConfigurationError
from app.schemas import single_line_text
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
    "care:write",
    "worklists:read",
)

# Documents the bearer scheme in OpenAPI; the token itself is read by `authenticate`.
bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who asks (the token's `sub`), for which tenant and with what scopes — and, once the
    request's owner has admitted it, why (`X-Purpose`) and in which operation, as the access
    log records every access."""

    sub: str
    tenant: Tenant
    scopes: frozenset[str]
    purpose: str | None = None
    operation: str = ""

    @property
    def org(self) -> str:
        return self.tenant.id


# Tokens whose signature and claims were verified, kept until they expire: a patient-record
# system sends the same token with every request for its lifetime, and checking it again each
# time was a seventh of a segment read's CPU (issue 10's profile).
VERIFIED_TOKENS = 4096


class TokenVerifier:
    """Verifies signatures with whichever key kind is configured; HS256 is the default.

    A token verified once is remembered, by its exact text (signature included, so a changed
    token is never a hit), until its `exp`: an expired token is refused as before. The memory
    is this process's own and only saves work; every instance verifies every token it sees.
    """

    def __init__(self, settings: Settings, jwt_secret: str | None) -> None:
        self._verified: OrderedDict[str, dict[str, object]] = OrderedDict()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._public_key = settings.jwt_public_key
        self._secret = jwt_secret
        if self._public_key and self._jwks is None:
            try:
                serialization.load_pem_public_key(self._public_key.encode())
            except ValueError:
                raise KeyConfigurationError(
                    "SEGMENTTI_JWT_PUBLIC_KEY is not a PEM public key (RSA or EC)"
                ) from None

    def _key_and_algorithms(self, token: str) -> tuple[object, list[str]]:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
        if self._public_key:
            return self._public_key, ["RS256", "ES256"]
        assert self._secret is not None
        return self._secret, ["HS256"]

    def verify(self, token: str) -> dict[str, object]:
        claims = self._verified.get(token)
        if claims is not None:
            if time.time() < claims["exp"]:  # type: ignore[operator]
                return claims
            del self._verified[token]
        claims = self._verify(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> dict[str, object]:
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
        except jwt.PyJWKClientConnectionError:
            raise ServiceUnavailable(
                "The identity provider's signing keys cannot be fetched; retry later.",
                retry_after=30,
            ) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The bearer token is not valid: {type(exc).__name__}.") from exc
        return claims


def authenticate(
    authorization: str | None, verifier: TokenVerifier, tenants: Mapping[str, Tenant]
) -> Principal:
    """The principal of an `Authorization` header, or Unauthenticated / Forbidden."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send `Authorization: Bearer <token>`.")
    claims = verifier.verify(token.strip())
    sub, org, scope = claims.get("sub"), claims.get("org"), claims.get("scope", "")
    if not isinstance(sub, str) or not single_line_text(sub, 255):
        raise Unauthenticated(
            "The token's `sub` claim must be a non-empty string of at most 255 characters, "
            "without control characters, and not a personal identity code."
        )
    if not isinstance(org, str) or not org:
        raise Unauthenticated("The token has no `org` claim naming the tenant.")
    if not isinstance(scope, str):
        raise Unauthenticated("The token's `scope` claim must be a space-separated string.")
    tenant = tenants.get(org)
    if tenant is None:
        raise Forbidden("The token's organisation is not a configured tenant of this service.")
    # RFC 6749: scopes are separated by a space, and only by a space.
    return Principal(sub=sub, tenant=tenant, scopes=frozenset(scope.split(" ")) - {""})


class ScopeDependency:
    """`Depends(require_scope(...))`: names the scope its operation needs; returns the
    principal the request's owner authenticated and checked before anything else ran."""

    def __init__(self, scope: str) -> None:
        assert scope in SCOPES, scope
        self.scope = scope
        self.__name__ = f"require_{scope.replace(':', '_')}"

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        x_purpose: Annotated[
            str | None,
            Header(
                max_length=200, description="Why the data is accessed; written to the access log."
            ),
        ] = None,
    ) -> Principal:
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal) or self.scope not in principal.scopes:
            # Only reached if a route bypassed its owner; never serve it unchecked.
            raise Forbidden(f"This operation needs the scope `{self.scope}`.")
        return principal


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    return ScopeDependency(scope)


def mint_token(
    secret: str,
    *,
    sub: str,
    org: str,
    scopes: list[str],
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """Mint an HS256 token, for local runs and tests; production tokens come from the IdP."""
    now = int(time.time())
    payload: dict[str, object] = {
        "sub": sub,
        "org": org,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if issuer:
        payload["iss"] = issuer
    if audience:
        payload["aud"] = audience
    return jwt.encode(payload, secret, algorithm="HS256")
