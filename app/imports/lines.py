"""Checking one import line and preparing its row for the staging table.

Everything is decided here, per line, before anything is written: the identity normalised
and protected (encrypted, blind-indexed under every key held), the model version, the
segment. A line that fails gives its problems with the line number; a file with any failing
line writes nothing.

A register's lines come client by client, so an import's checker remembers the last few
thousand clients it has seen: a client's tenth decision costs no second validation,
encryption or index. The memory is the import's own and bounded.
"""

import os
import re
import typing
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from app.catalog.service import FINLAND, choose_version
from app.clients.identity import Identity, IdentityProtector
from app.clients.schemas import HETU_MEMO
from app.errors import FieldError, SegmenttiError, field_errors_from_pydantic
from app.ids import readable
from app.imports.schemas import ImportLine
from app.schemas import TEXT_MEMO
from app.segmentation.catalog import ModelVersion
from app.strict_json import strict_loads
from app.tenants import Tenant

CLIENTS_REMEMBERED = 4096


class Staged(NamedTuple):
    """An import line ready for the staging table: no identity code in clear."""

    line: int
    assessment_id: uuid.UUID
    new_client_id: uuid.UUID
    log_id: uuid.UUID
    identity_kind: str
    index_a: str
    index_b: str | None
    hetu_encrypted: str | None
    external_system: str | None
    external_value: str | None
    birth_date: date | None
    model_id: str
    model_version: str
    decided_code: int
    effective_at: datetime
    recorded_by: str
    consent_given: bool | None
    consent_at: datetime | None
    consent_id: uuid.UUID | None


COLUMNS = Staged._fields


def _decided_code(model: ModelVersion, code: int) -> int | None:
    if model.register is not None:
        return next((s.code for s in model.segments if s.register_code == code), None)
    return code if model.segment_by_code(code) is not None else None


class _Ids:
    """Fresh row ids for one import: increasing, so that the indexes they lead grow at one end
    instead of everywhere (at a million lines a chunk's writes took a third less time), yet
    not guessable from one another. A random prefix for the import (24 bits), a count (24
    bits), then random bits (74, around the UUID's version and variant bits). Unique within
    the import by the count, across imports by the 98 random bits. The random bits are read
    a thousand ids at a time: a system call per id was a fifth of a line's time."""

    _COUNT_BITS = 24
    _TAIL_BITS = 80
    _TAIL_BYTES = _TAIL_BITS // 8
    _AT_ONCE = 1024
    # UUID version 4 and the RFC 4122 variant, as uuid.UUID(version=4) would set them.
    _CLEAR = ~((0xF << 76) | (0xC000 << 48))
    _SET = (4 << 76) | (0x8000 << 48)

    def __init__(self) -> None:
        self._random, self._at = b"", 0
        self._draw()

    def _draw(self) -> None:
        self._prefix = int.from_bytes(os.urandom(3), "big") << (self._COUNT_BITS + self._TAIL_BITS)
        self._count = 0

    def _tail(self) -> int:
        if self._at >= len(self._random):
            self._random, self._at = os.urandom(self._TAIL_BYTES * self._AT_ONCE), 0
        at, self._at = self._at, self._at + self._TAIL_BYTES
        return int.from_bytes(self._random[at : self._at], "big")

    def next(self) -> uuid.UUID:
        while True:
            self._count += 1
            if self._count >= 1 << self._COUNT_BITS:
                self._draw()  # 16 million ids drawn: on from another prefix
                continue
            bits = self._prefix | (self._count << self._TAIL_BITS) | self._tail()
            value = uuid.UUID(int=bits & self._CLEAR | self._SET)
            # Never an id that reads as an identity code (app/ids.py): a later count spells
            # another (a code needs ten digits, more than the prefix holds; one spelled across
            # the prefix and the count's upper digits lasts at most 256 counts).
            if readable(value):
                return value


@dataclass(frozen=True)
class Protected:
    """A client as the staging table holds it: no identity code in clear."""

    identity_kind: str
    index_a: str
    index_b: str | None
    hetu_encrypted: str | None
    external_system: str | None
    external_value: str | None
    birth_date: date | None


def _member_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for kind in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                names |= _member_names(kind)
    return names


# Member names as a line's text shows them: a quote can stand inside a string only escaped,
# so `"name":` is a member name wherever it appears.
_MEMBER = re.compile(rb'"(\w+)"\s*:')
_NAMES = frozenset(name.encode() for name in _member_names(ImportLine))


def _plain(raw: bytes) -> bool:
    """Whether a line can be validated straight from its text: no \\u escape (which could
    hide a NUL or a lone surrogate) and no member name twice (pydantic's parser would keep
    the last one silently). Any other line takes the strict path (app/strict_json.py)."""
    if b"\\u" in raw:
        return False
    names = _MEMBER.findall(raw)
    return len(names) == len(set(names)) and _NAMES.issuperset(names)


def _problems(where: str, exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(f"{where}.{e.field}" if e.field != "body" else where, e.message)
        for e in field_errors_from_pydantic(exc.errors())
    ]


class LineChecker:
    """Checks one import's lines in turn; see the module's docstring."""

    def __init__(self, tenant: Tenant, protector: IdentityProtector, now: datetime) -> None:
        self.tenant, self.protector, self.now = tenant, protector, now
        self._clients: OrderedDict[Identity, Protected] = OrderedDict()
        # A client's new id (should it be new) and its access-log line's id, by its index:
        # drawn from the import's increasing ids the first time it appears in a chunk, and
        # the same for all its lines there (`next_chunk` starts afresh; a later chunk finds
        # a client the earlier one created by its index). Increasing, not random: every
        # index led by a client id then grows at one end instead of everywhere, which kept
        # a million-line import's writes in the database's cache.
        self._chunk: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        self._hetus: dict[str, tuple[str, str | None]] = {}
        self._texts: dict[str, str | None] = {}
        self._versions: dict[tuple[str | None, str | None, date], ModelVersion] = {}
        self._codes: dict[tuple[str, str, int], int | None] = {}
        self._ids = _Ids()

    def next_chunk(self) -> None:
        """The lines checked from now on go to the next chunk."""
        self._chunk.clear()

    def _client(self, identity: Identity) -> Protected:
        known = self._clients.get(identity)
        if known is not None:
            self._clients.move_to_end(identity)
            return known
        protector, tenant = self.protector, self.tenant.id
        write_index = protector.index(tenant, identity)
        protected = Protected(
            identity_kind=identity.kind,
            index_a=write_index,
            index_b=next((i for i in protector.indexes(tenant, identity) if i != write_index), None)
            if protector.holds_previous_index_key
            else None,
            hetu_encrypted=protector.encrypt(identity.hetu) if identity.hetu else None,
            external_system=identity.external_system,
            external_value=identity.external_value,
            birth_date=identity.birth_date,
        )
        self._clients[identity] = protected
        if len(self._clients) > CLIENTS_REMEMBERED:
            self._clients.popitem(last=False)
        return protected

    def _version(self, line: ImportLine) -> ModelVersion:
        key = (line.model, line.model_version, line.effective_at.astimezone(FINLAND).date())
        known = self._versions.get(key)
        if known is None:
            known = choose_version(
                self.tenant.registry, self.tenant, line.model, line.model_version, line.effective_at
            )
            self._versions[key] = known
        return known

    def check(self, number: int, raw: bytes) -> "Staged | list[FieldError]":
        """The staged row of line `number`, or what is wrong with it (fields named per line).

        A good line is read straight from its text; a line with any problem is read again
        the strict way, so that its problems are told exactly as for any request."""
        if _plain(raw):
            try:
                if len(self._hetus) > CLIENTS_REMEMBERED:
                    self._hetus.clear()
                if len(self._texts) > CLIENTS_REMEMBERED:
                    self._texts.clear()
                line = ImportLine.model_validate_json(
                    raw, context={HETU_MEMO: self._hetus, TEXT_MEMO: self._texts}
                )
            except ValidationError:
                pass
            else:
                staged = self._stage(number, line)
                if isinstance(staged, Staged):
                    return staged
        return self._check_strictly(number, raw)

    def _check_strictly(self, number: int, raw: bytes) -> "Staged | list[FieldError]":
        where = f"lines[{number}]"
        try:
            parsed = strict_loads(raw)
        except ValueError as exc:  # JSONDecodeError
            reason = exc.msg if hasattr(exc, "msg") else "not valid JSON"
            return [FieldError(where, f"not I-JSON: {reason}")]
        try:
            line = ImportLine.model_validate(parsed)
        except ValidationError as exc:
            return _problems(where, exc)
        return self._stage(number, line)

    def _stage(self, number: int, line: ImportLine) -> "Staged | list[FieldError]":
        where = f"lines[{number}]"
        problems: list[FieldError] = []
        if line.effective_at > self.now:
            problems.append(FieldError(f"{where}.effective_at", "must not be in the future"))
        if line.consent and line.consent.at and line.consent.at > self.now:
            problems.append(FieldError(f"{where}.consent.at", "must not be in the future"))
        try:
            version = self._version(line)
        except SegmenttiError as exc:
            problems.extend(FieldError(f"{where}.{e.field}", e.message) for e in exc.errors)
            return problems
        key = (version.id, version.version, line.segment_code)
        if key in self._codes:
            code = self._codes[key]
        else:
            code = self._codes[key] = _decided_code(version, line.segment_code)
        if code is None:
            numbers = [str(s.register_code or s.code) for s in version.segments]
            problems.append(
                FieldError(f"{where}.segment_code", f"expected one of {', '.join(numbers)}")
            )
        if problems:
            return problems
        assert code is not None
        client = self._client(line.client.identity())
        ids = self._chunk.get(client.index_a)
        if ids is None:
            ids = self._chunk[client.index_a] = (self._ids.next(), self._ids.next())
        return Staged(
            line=number,
            assessment_id=self._ids.next(),
            new_client_id=ids[0],
            log_id=ids[1],
            identity_kind=client.identity_kind,
            index_a=client.index_a,
            index_b=client.index_b,
            hetu_encrypted=client.hetu_encrypted,
            external_system=client.external_system,
            external_value=client.external_value,
            birth_date=client.birth_date,
            model_id=version.id,
            model_version=version.version,
            decided_code=code,
            effective_at=line.effective_at,
            recorded_by=line.recorded_by,
            consent_given=line.consent.health_register if line.consent else None,
            consent_at=(line.consent.at or line.effective_at) if line.consent else None,
            consent_id=self._ids.next() if line.consent else None,
        )


def as_row(staged: Staged) -> Mapping[str, Any]:
    return staged._asdict()


def as_record(staged: Staged) -> Sequence[Any]:
    return staged
