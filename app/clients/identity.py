"""A client's identity as requests name it, and how it is protected at rest: encryption of the
identity code and the tenant-scoped blind index used to find a client."""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app import identity_codes
from app.keys import DATA_KEY, INDEX_KEY, check_value


@dataclass(frozen=True)
class Identity:
    """How a request names a client: an identity code, or the calling system's own id."""

    hetu: str | None = None
    external_system: str | None = None
    external_value: str | None = None

    @property
    def kind(self) -> str:
        return "hetu" if self.hetu is not None else "external"

    @property
    def birth_date(self) -> date | None:
        return identity_codes.birth_date(self.hetu) if self.hetu is not None else None

    def index_material(self) -> str:
        if self.hetu is not None:
            return f"hetu\x1f{self.hetu}"
        return f"external\x1f{self.external_system}\x1f{self.external_value}"


class IdentityProtector:
    """Encrypts identity codes and computes tenant-scoped blind indexes with the keys this
    process holds: its current ones and, during a key rotation, the previous ones too.

    Every key held is accepted (decrypts, finds clients); new rows are written with the keys
    the database says are current (app/keyring/), so that instances never split a person.
    """

    def __init__(self, data_keys: Sequence[str], index_keys: Sequence[str]) -> None:
        self._fernets = {check_value(k): Fernet(k.encode()) for k in data_keys}
        self._any_fernet = MultiFernet(list(self._fernets.values()))
        self._index_keys = {check_value(k): k.encode() for k in index_keys}
        # The keys this process is configured to make current (rotation: the new ones) ...
        self.configured = {
            DATA_KEY: check_value(data_keys[0]),
            INDEX_KEY: check_value(index_keys[0]),
        }
        # ... and the ones it writes with: the database's current keys (app/keyring/).
        self.data_check = self.configured[DATA_KEY]
        self.index_check = self.configured[INDEX_KEY]

    @property
    def holds_previous_index_key(self) -> bool:
        return len(self._index_keys) > 1

    def holds(self, name: str, check: str) -> bool:
        return check in (self._fernets if name == DATA_KEY else self._index_keys)

    def write_with(self, *, data_check: str, index_check: str) -> None:
        """Write new rows with these of the keys held (the database's current ones)."""
        assert data_check in self._fernets and index_check in self._index_keys
        self.data_check, self.index_check = data_check, index_check

    def index(self, tenant: str, identity: Identity, check: str | None = None) -> str:
        message = f"{tenant}\x1f{identity.index_material()}".encode()
        key = self._index_keys[check or self.index_check]
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def indexes(self, tenant: str, identity: Identity) -> list[str]:
        """The identity's index under every key held: any of them finds the client."""
        return [self.index(tenant, identity, check) for check in self._index_keys]

    def encrypt(self, hetu: str, check: str | None = None) -> str:
        return self._fernets[check or self.data_check].encrypt(hetu.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._any_fernet.decrypt(token.encode()).decode()

    def encrypted_with(self, token: str, check: str) -> bool:
        try:
            self._fernets[check].decrypt(token.encode())
        except InvalidToken:
            return False
        return True
