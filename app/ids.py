"""The ids the service issues: random UUIDs that never read as a personal identity code.

About one random UUID in 13,000 holds a date of birth and four characters whose check
character fits (`75cbc1b4-49e3-41cc-bb72-c151041314ea`). Everything a caller sends is checked
with `looks_like_identity_code`, URLs included, so a client or an assessment with such an id
could never be asked for. Rather than let ids through that filter (which would let a code
dressed as an id through too), the service never issues one: it draws again.
"""

import uuid

from app.identity_codes import looks_like_identity_code


def readable(value: uuid.UUID) -> bool:
    """Whether the id passes the filter in both of its spellings (canonical and 32 hex)."""
    return not (looks_like_identity_code(str(value)) or looks_like_identity_code(value.hex))


def new_id() -> uuid.UUID:
    while True:
        value = uuid.uuid4()
        if readable(value):
            return value
