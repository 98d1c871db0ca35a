"""Identity codes: validation, encryption at rest and the blind index used to find a client.

The identity code is kept exactly as given: the century signs of the 2023 reform make
`010101-123N` and `010101Y123N` two different people, so nothing here normalises the sign.
Temporary codes (individual number 900–999) are refused: they are not stable identifiers of a
person, so a segment timeline must not hang on one — such clients use `external_id`.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat
from stdnum.fi import hetu as stdnum_hetu

HETU_SHAPE = re.compile(r"^\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]$")


@dataclass(frozen=True)
class Identity:
    """How a request names a client: an identity code, or the calling system's own id."""

    hetu: str | None = None
    external_system: str | None = None
    external_value: str | None = None

    @property
    def kind(self) -> str:
        return "hetu" if self.hetu is not None else "external"

    def index_material(self) -> str:
        if self.hetu is not None:
            return f"hetu\x1f{self.hetu}"
        return f"external\x1f{self.external_system}\x1f{self.external_value}"


def hetu_problem(value: str) -> str | None:
    """What is wrong with an identity code, in words that never repeat the code."""
    if not HETU_SHAPE.match(value):
        return (
            "expected a personal identity code DDMMYYCNNNT in upper case without spaces, "
            "with a century sign of + - A B C D E F U V W X Y"
        )
    try:
        stdnum_hetu.validate(value)
    except InvalidChecksum:
        return "the identity code's check character does not match"
    except InvalidComponent:
        individual = int(value[7:10])
        if individual >= 900:
            return (
                "temporary identity codes (individual number 900–999) are not accepted; "
                "identify the client with `external_id`"
            )
        if individual < 2:
            return "the identity code's individual number must be 002–899"
        return "the identity code's date of birth does not exist"
    except InvalidFormat:
        return "expected a personal identity code DDMMYYCNNNT"
    return None


class IdentityProtector:
    """Encrypts identity codes and computes tenant-scoped blind indexes."""

    def __init__(self, data_key: str, index_key: str) -> None:
        self._fernet = Fernet(data_key.encode())
        self._index_key = index_key.encode()

    def index(self, tenant: str, identity: Identity) -> str:
        message = f"{tenant}\x1f{identity.index_material()}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, hetu: str) -> str:
        return self._fernet.encrypt(hetu.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()
