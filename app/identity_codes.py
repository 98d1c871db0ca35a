"""Finnish personal identity codes (henkilötunnus): the one place that knows their shape.

A code is normalised once, here, before it is validated, indexed or encrypted, so that one
person is one client however the code was typed: compatibility forms (full-width digits and
letters) fold to ASCII, letters to upper case, and the dashes a word processor substitutes to
the hyphen-minus century sign. The century sign itself is kept as given: since the 2023 reform
`010101-123N` and `010101Y123N` are two different people.

Temporary codes (individual number 900–999) are refused: they are not stable identifiers of a
person, so a segment timeline must not hang on one — such clients use `external_id`.
Everything else in a request is checked with `looks_like_identity_code`, so that a code sent
where it does not belong is refused instead of being stored or logged in clear.
"""

import re
import unicodedata
from datetime import date

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat
from stdnum.fi import hetu as stdnum_hetu

# How FHIR and the Finnish Base Profiles name the identity code system.
HETU_OID = "urn:oid:1.2.246.21"

SHAPE = re.compile(r"^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$", re.ASCII)
CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63"})
_DATE = r"(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}"
# The code as written, standing on its own: flagged whatever its check character.
_ON_ITS_OWN = re.compile(
    rf"(?<![0-9A-Z]){_DATE}\s?[-+A-FU-Y]\s?[0-9]{{3}}[0-9A-Y](?![0-9A-Z])", re.ASCII
)
# Anywhere, glued to other text, with or without its century sign and with odd separators:
# flagged when the check character fits, which keeps order numbers and dates out.
_ANYWHERE = re.compile(
    rf"(?=({_DATE})[\s._:/]*[-+A-FU-Y]?[\s._:/]*([0-9]{{3}})([0-9A-Y]))", re.ASCII
)


def fold(text: str) -> str:
    """How codes are compared: compatibility forms and other scripts' digits to ASCII,
    invisible format characters dropped, dashes to '-', upper case."""
    return fold_text(text).upper()


def fold_text(text: str) -> str:
    """`fold` but for case: how any identifier a person types is compared."""
    if text.isascii():  # nothing to fold: ASCII is its own NFKC form, with no Cf or dashes
        return text
    folded = []
    for character in unicodedata.normalize("NFKC", text):
        if unicodedata.category(character) == "Cf":
            continue
        if not character.isascii() and (digit := unicodedata.decimal(character, None)) is not None:
            character = str(digit)
        folded.append(character)
    return "".join(folded).translate(_DASHES)


def normalise(value: str) -> str:
    return fold(value).strip()


def problem(value: str) -> str | None:
    """What is wrong with a (normalised) identity code, in words that never repeat the code."""
    if not SHAPE.match(value):
        return (
            "expected a personal identity code DDMMYYCNNNT, with a century sign of "
            "+ - A B C D E F U V W X Y"
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


_CENTURY = {"+": 1800, **dict.fromkeys("-UVWXY", 1900), **dict.fromkeys("ABCDEF", 2000)}


def birth_date(code: str) -> date:
    """The date of birth a valid, normalised identity code carries."""
    return date(_CENTURY[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))


def looks_like_identity_code(text: str) -> bool:
    """Whether `text` holds something that is, or looks like, a personal identity code."""
    folded = fold(text)
    if _ON_ITS_OWN.search(folded):
        return True
    return any(
        CHECK_CHARACTERS[int(match.group(1) + match.group(4)) % 31] == match.group(5)
        for match in _ANYWHERE.finditer(folded)
    )


def holds_code_on_its_own(text: str) -> bool:
    """Whether `text` holds a code standing on its own (not glued to letters or digits): how a
    code typed where an opaque token belongs looks, while base64 that by chance spells one is
    glued to the characters around it."""
    return bool(_ON_ITS_OWN.search(fold(text)))


def is_hetu_system(system: str) -> bool:
    folded = system.strip().lower()
    return folded in (HETU_OID, HETU_OID.removeprefix("urn:oid:"))
