"""Personal identity codes: every 2023 century sign, checksum, date, and what is refused."""

import hashlib
from uuid import UUID

import pytest

from app.clients.identity import IdentityProtector
from app.clients.schemas import ClientIdentity
from app.identity_codes import CHECK_CHARACTERS, looks_like_identity_code, normalise
from app.identity_codes import problem as hetu_problem
from app.ids import new_id, readable
from app.imports.lines import _Ids
from tests.conftest import DATA_KEY, INDEX_KEY
from tests.helpers import hetu


@pytest.mark.parametrize("sign", list("+-ABCDEFUVWXY"))
def test_every_century_sign_of_the_2023_reform_is_accepted(sign: str) -> None:
    assert hetu_problem(hetu("010203", sign)) is None


def test_the_example_code_from_the_contract_is_valid() -> None:
    assert hetu_problem("131052-308T") is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("131052-308U", "check character"),
        ("310252-308T", "date of birth does not exist"),
        ("131052-001T", "individual number"),
        ("131052G308T", "century sign"),
        ("131052_308T", "century sign"),
        ("131052-3O8T", "DDMMYYCNNNT"),
        ("1310523-308T", "DDMMYYCNNNT"),
    ],
)
def test_bad_codes_are_refused_with_a_reason_that_does_not_repeat_them(
    code: str, expected: str
) -> None:
    problem = hetu_problem(code)
    assert problem is not None and expected in problem
    assert code.strip() not in problem


def test_temporary_codes_are_refused_in_favour_of_external_id() -> None:
    problem = hetu_problem(hetu("010203", "-", 912))
    assert problem is not None and "external_id" in problem


def test_dash_and_y_codes_are_different_people() -> None:
    protector = IdentityProtector([DATA_KEY], [INDEX_KEY])
    dash = ClientIdentity(hetu=hetu("010105", "-"))
    y_sign = ClientIdentity(hetu=hetu("010105", "Y"))
    assert protector.index("helsinki", dash.identity()) != protector.index(
        "helsinki", y_sign.identity()
    )


def test_the_same_person_in_two_tenants_has_two_unlinkable_indexes() -> None:
    protector = IdentityProtector([DATA_KEY], [INDEX_KEY])
    person = ClientIdentity(hetu="131052-308T")
    assert protector.index("helsinki", person.identity()) != protector.index(
        "vantaa-kerava", person.identity()
    )


def test_identity_codes_are_encrypted_at_rest_and_round_trip() -> None:
    protector = IdentityProtector([DATA_KEY], [INDEX_KEY])
    token = protector.encrypt("131052-308T")
    assert "131052" not in token
    assert protector.decrypt(token) == "131052-308T"


@pytest.mark.parametrize(
    "typed",
    [
        "131052-308t",
        " 131052-308T ",
        "１３１０５２-３０８Ｔ",
        "131052\u2010308T",
        "131052\u2212308T",
    ],
    ids=["lower case", "spaces", "full-width", "hyphen", "minus sign"],
)
def test_the_ways_a_code_gets_typed_fold_to_the_code(typed: str) -> None:
    assert normalise(typed) == "131052-308T"
    assert hetu_problem(normalise(typed)) is None


def test_the_century_sign_is_never_folded() -> None:
    assert normalise("010101a123n") == "010101A123N" != normalise("010101-123N")


# Each holds a date of birth and four characters whose check character fits.
UUIDS_THAT_HOLD_A_CODE = [
    "75cbc1b4-49e3-41cc-bb72-c151041314ea",
    "59484478-d8d5-4782-b0ea-151019178cf5",
    "5C6F9AAE-E186-4B50-B1C8-E5130239103C",
]


@pytest.mark.parametrize("uuid", UUIDS_THAT_HOLD_A_CODE)
def test_a_uuid_that_spells_a_code_reads_as_one(uuid: str) -> None:
    # A code dressed as an id is still a code: the filter does not exempt UUIDs.
    assert looks_like_identity_code(f"/v1/clients/{uuid}/segment")
    assert not readable(UUID(uuid))


def test_the_service_never_issues_an_id_that_reads_as_a_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = iter([UUID(u) for u in UUIDS_THAT_HOLD_A_CODE] + [UUID(int=1)])
    monkeypatch.setattr("app.ids.uuid.uuid4", lambda: next(drawn))
    assert new_id() == UUID(int=1)


def test_import_ids_skip_those_that_read_as_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _Ids()
    refused: list[UUID] = []

    def all_but_the_first(value: UUID) -> bool:
        if not refused:
            refused.append(value)
            return False
        return True

    monkeypatch.setattr("app.imports.lines.readable", all_but_the_first)
    taken = ids.next()
    assert taken.int > refused[0].int
    assert [(i.int >> 80) & 0xFFFFFF for i in (refused[0], taken)] == [1, 2]  # the next count


def _old_readable(value: UUID) -> bool:
    """The definition: the filter run over both spellings."""
    return not (looks_like_identity_code(str(value)) or looks_like_identity_code(value.hex))


def test_ids_are_checked_as_the_filter_reads_them_wherever_a_code_sits() -> None:
    # A code at every place in the hex: across a hyphen of the canonical spelling too,
    # where the hyphen reads as the century sign.
    codes = []
    for birth in ("131052", "010101", "290200"):
        number = next(
            n
            for n in range(2, 900)
            if CHECK_CHARACTERS[int(f"{birth}{n:03}") % 31] in "0123456789ABCDEF"
        )
        check = CHECK_CHARACTERS[int(f"{birth}{number:03}") % 31].lower()
        codes += [f"{birth}{number:03}{check}", f"{birth}a{number:03}{check}"]
    for code in codes:
        for at in range(32 - len(code) + 1):
            value = UUID(hex=("7" * at + code).ljust(32, "7"))
            assert not readable(value)
            assert not _old_readable(value)
        wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
        assert readable(UUID(hex=wrong.ljust(32, "7")))
    for value in [UUID(u) for u in UUIDS_THAT_HOLD_A_CODE]:
        assert readable(value) is _old_readable(value) is False


def test_ids_are_checked_as_the_filter_reads_them_at_random() -> None:
    # Random-looking and the same on every run: the hashes of the numbers.
    digests = (hashlib.sha256(str(n).encode()).digest() for n in range(40_000))
    values = [UUID(bytes=digest[:16], version=4) for digest in digests]
    assert [readable(v) for v in values] == [_old_readable(v) for v in values]
    assert 5 < sum(not readable(v) for v in values) < 60  # about one in 2,000


def test_an_import_whose_random_base_spells_a_code_draws_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A code in the base's bits is in every id counted from it: counting on would never end.
    birth = "131052"
    number = next(
        n for n in range(2, 900) if CHECK_CHARACTERS[int(f"{birth}{n:03}") % 31] in "0123456789"
    )
    code = f"{birth}{number:03}{CHECK_CHARACTERS[int(f'{birth}{number:03}') % 31]}"
    ids = _Ids()
    ids._base = UUID(hex=code.ljust(32, "7"), version=4).int & ~((1 << 48) - 1)
    assert not readable(UUID(int=ids._base | 1))
    checked = []

    def bounded(value: UUID) -> bool:
        checked.append(value)
        assert len(checked) < 100, "still counting from a base that spells a code"
        return readable(value)

    monkeypatch.setattr("app.imports.lines.readable", bounded)
    assert readable(ids.next())
