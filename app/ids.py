"""The ids the service issues: random UUIDs that never read as a personal identity code.

About one random UUID in 2,000 holds a date of birth and four characters whose check
character fits (`75cbc1b4-49e3-41cc-bb72-c151041314ea`). Everything a caller sends is checked
with `looks_like_identity_code`, URLs included, so a client or an assessment with such an id
could never be asked for. Rather than let ids through that filter (which would let a code
dressed as an id through too), the service never issues one: it draws again.
"""

import re
import uuid

from app.identity_codes import CHECK_CHARACTERS

# `looks_like_identity_code`'s "anywhere" pattern as it can occur in 32 lower-case hex digits:
# no separators, and only a-f of the century signs. Every code the canonical spelling holds,
# the hex spelling holds too — its hyphens can stand only for a century sign, which the check
# character does not depend on — and a code standing on its own (11 characters between
# non-alphanumerics) fits neither. So checking the hex is checking both spellings, at a
# fifth of the cost: an import draws an id or two per line.
_IN_HEX = re.compile(
    r"(?=((?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2})[a-f]?([0-9]{3})([0-9a-f]))"
)


def readable(value: uuid.UUID) -> bool:
    """Whether the id passes the filter in both of its spellings (canonical and 32 hex)."""
    return not any(
        CHECK_CHARACTERS[int(match.group(1) + match.group(2)) % 31] == match.group(3).upper()
        for match in _IN_HEX.finditer(value.hex)
    )


def new_id() -> uuid.UUID:
    while True:
        value = uuid.uuid4()
        if readable(value):
            return value
