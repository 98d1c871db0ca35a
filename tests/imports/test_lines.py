"""An import line is read straight from its text when it is plainly good, and the strict way
otherwise: both ways must come to the same answer for any line, good or hostile."""

import json
import uuid
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.clients.identity import IdentityProtector
from app.ids import readable
from app.imports import lines as lines_module
from app.imports.lines import LineChecker, Staged
from app.segmentation.registry import load_registry
from app.tenants import Tenant, load_tenants
from tests.conftest import DATA_KEY, INDEX_KEY, make_settings
from tests.helpers import hetu

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OTHER_HETU = hetu("150365", "-", 518)
GOOD = {
    "client": {"hetu": hetu("010170", "-", 432)},
    "model": "helsinki-2023",
    "segment_code": 3,
    "effective_at": "2024-03-01T09:00:00Z",
    "recorded_by": "register@helsinki.example",
    "consent": {"health_register": True},
}


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> LineChecker:
    settings = make_settings(tmp_path_factory.mktemp("lines"))
    tenant: Tenant = load_tenants(settings.tenants_file, load_registry(None))["helsinki"]
    return LineChecker(tenant, IdentityProtector([DATA_KEY], [INDEX_KEY]), NOW)


def comparable(result: Staged | list[Any]) -> Any:
    """A staged line without the ids made for it; problems as they are."""
    if isinstance(result, Staged):
        return result._replace(assessment_id=None, consent_id=None)
    return result


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["helsinki-2023", "2021.1", "2024-03-01T09:00:00Z", GOOD["client"]["hetu"]]),
)


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    """A good line with something changed, in its structure or in its text."""
    line: dict[str, Any] = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(0, 3))):
        objects = [
            line,
            *(v for v in (line.get("client"), line.get("consent")) if isinstance(v, dict)),
        ]
        where = draw(st.sampled_from(objects))
        key = draw(st.sampled_from([*GOOD, "hetu", "at", "health_register", "extra"]))
        if draw(st.booleans()):
            where[key] = draw(values)
        else:
            where.pop(key, None)
    text = json.dumps(line, ensure_ascii=draw(st.booleans()))
    edit = draw(
        st.sampled_from(
            ["none", "duplicate", "escape", "nul", "surrogate", "nan", "big", "deep", "cut"]
        )
    )
    edits = {
        "none": text,
        "duplicate": text.replace('"model": ', '"model": "kymenlaakso-2017", "model": ', 1),
        "escape": text.replace("register", "regi\\u0073ter"),
        "nul": text.replace("register", "regi\\u0000ster"),
        "surrogate": text.replace("register", "regi\\ud800ster"),
        "nan": text.replace('"segment_code": 3', '"segment_code": NaN'),
        "big": text.replace('"segment_code": 3', '"segment_code": 9007199254740995'),
        "deep": text.replace(
            '"health_register": true', '"health_register": ' + "[" * 40 + "]" * 40
        ),
        "cut": text[: draw(st.integers(0, max(len(text) - 1, 0)))],
    }
    return edits[edit].encode()


@settings(max_examples=400, deadline=None)
@given(raw=hostile_lines())
def test_the_quick_way_and_the_strict_way_agree(checker: LineChecker, raw: bytes) -> None:
    assert comparable(checker.check(7, raw)) == comparable(checker._check_strictly(7, raw))


def test_a_good_line_is_staged(checker: LineChecker) -> None:
    staged = checker.check(1, json.dumps(GOOD).encode())

    assert isinstance(staged, Staged)
    assert staged.decided_code == 3 and staged.model_version == "2023.1"
    assert staged.hetu_encrypted and GOOD["client"]["hetu"] not in staged.hetu_encrypted


def test_a_repeated_member_name_is_refused_not_overwritten(checker: LineChecker) -> None:
    raw = json.dumps(GOOD).replace('"segment_code": 3', '"segment_code": 3, "segment_code": 4')

    problems = checker.check(2, raw.encode())

    assert problems == checker._check_strictly(2, raw.encode())
    assert isinstance(problems, list) and "twice" in problems[0].message


def test_one_client_brings_the_same_new_id_on_every_line(checker: LineChecker) -> None:
    first = checker.check(1, json.dumps(GOOD).encode())
    later = checker.check(9, json.dumps({**GOOD, "segment_code": 2}).encode())

    assert isinstance(first, Staged) and isinstance(later, Staged)
    assert first.new_client_id == later.new_client_id


def test_a_client_the_checker_forgot_brings_the_same_ids_within_its_chunk(
    checker: LineChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging makes one client of the lines bringing one new id: a client pushed out
    of the checker's memory by others must not come back with another in the same chunk."""
    monkeypatch.setattr(lines_module, "CLIENTS_REMEMBERED", 1)
    other = {**GOOD, "client": {"hetu": OTHER_HETU}}
    first = checker.check(1, json.dumps(GOOD).encode())
    checker.check(2, json.dumps(other).encode())  # forgets the first client
    again = checker.check(3, json.dumps({**GOOD, "segment_code": 2}).encode())
    checker.next_chunk()
    next_chunk = checker.check(4, json.dumps({**GOOD, "segment_code": 1}).encode())

    assert isinstance(first, Staged) and isinstance(again, Staged)
    assert (again.new_client_id, again.log_id) == (first.new_client_id, first.log_id)
    assert isinstance(next_chunk, Staged)
    # A later chunk finds the client by its index if an earlier one created it: its ids
    # there are new, and increasing like every id the import draws.
    assert next_chunk.new_client_id.int > again.assessment_id.int > first.new_client_id.int


def test_an_imports_ids_increase_and_cannot_be_guessed_from_one_another() -> None:
    """Increasing (the indexes they lead grow at one end), yet one id tells nothing of the
    next: not a count an outsider could step through."""
    drawn = lines_module._Ids()
    ids = [drawn.next() for _ in range(3000)]

    assert [i.int for i in ids] == sorted(i.int for i in ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 and readable(i) for i in ids)
    steps = {later.int - earlier.int for earlier, later in pairwise(ids)}
    assert len(steps) == len(ids) - 1  # no two steps alike
    assert len({i.int & ((1 << 62) - 1) for i in ids}) == len(ids)
