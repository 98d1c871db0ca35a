"""The keys a database was used with: checked at start, and the ones new rows are written with.

Instances on one database with other keys would silently split one person into two clients
and write identity codes the others cannot read. So the database remembers a check value of
each key (never the key) from its first start; an instance whose keys it does not know
refuses to start, naming the variable. During a rotation an instance holds the new and the
previous keys and writes with whichever the database says is current, and every insert of a
new client carries that condition (`written_with_current_keys`), so an instance left behind
by a rotation fails its writes instead of writing with a retired key.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.db import Database, Unit, utc_now
from app.keyring.models import key_check
from app.keys import DATA_KEY, INDEX_KEY, VARIABLES, KeyConfigurationError

NAMES = (DATA_KEY, INDEX_KEY)
CURRENT = "current"
RETIRED = "retired"


class KeyMismatch(KeyConfigurationError):
    """The configured keys are not the ones this database is used with."""


class KeyHolder(Protocol):
    """The keys a process holds (app/clients/identity.py `IdentityProtector`)."""

    data_check: str
    index_check: str

    def holds(self, name: str, check: str) -> bool: ...

    def write_with(self, *, data_check: str, index_check: str) -> None: ...


async def roles(unit: Unit) -> dict[str, dict[str, str]]:
    """key name → {check value → role}."""
    found: dict[str, dict[str, str]] = {name: {} for name in NAMES}
    for row in await unit.execute(sa.select(key_check)):
        found[row.name][row.check_value] = row.role
    return found


def _current(known: dict[str, str]) -> str | None:
    return next((check for check, role in known.items() if role == CURRENT), None)


async def record(unit: Unit, name: str, check: str, role: str) -> None:
    """Set a key's role (insert or update): the table holds one row per key ever used."""
    insert = postgresql.insert if unit.dialect == "postgresql" else sqlite.insert
    await unit.execute(
        insert(key_check)
        .values(name=name, check_value=check, role=role, recorded_at=utc_now())
        .on_conflict_do_update(index_elements=["name", "check_value"], set_={"role": role})
    )


# Which key (name) does not fit the rows a database already holds, if any.
FitsRows = Callable[[Unit], Awaitable[str | None]]


async def verify(database: Database, protector: KeyHolder, fits_rows: FitsRows) -> None:
    """Refuse keys this database was not used with; choose the keys new rows are written with.

    On a database's first start the configured keys become its keys — unless the database
    already holds rows they do not fit (a database from before the check was recorded).
    """
    unit = database.unit()
    try:
        known = await roles(unit)
        if not any(known.values()):
            unfit = await fits_rows(unit)
            if unfit is not None:
                raise KeyMismatch(
                    f"{VARIABLES[unfit]} does not fit the clients this database already holds."
                )
        configured = {DATA_KEY: protector.data_check, INDEX_KEY: protector.index_check}
        current: dict[str, str] = {}
        mismatches = []
        for name in NAMES:
            check = _current(known[name])
            if check is None:
                check = configured[name]
                await record(unit, name, check, CURRENT)
            elif not protector.holds(name, check):
                retired = known[name].get(configured[name]) == RETIRED
                mismatches.append(
                    f"{VARIABLES[name]} was retired by a key rotation of this database; set it "
                    "to the key the other instances use now"
                    if retired
                    else f"{VARIABLES[name]} is not the key this database was first used with "
                    "(its check value differs)"
                )
            current[name] = check
        if mismatches:
            raise KeyMismatch(
                "; ".join(mismatches) + f". Every instance on one database needs the same "
                f"{VARIABLES[DATA_KEY]} and {VARIABLES[INDEX_KEY]}; a new database starts with "
                "the keys of its first instance."
            )
        await unit.commit()
    finally:
        await unit.close()
    protector.write_with(data_check=current[DATA_KEY], index_check=current[INDEX_KEY])


async def holds_current(unit: Unit, protector: KeyHolder) -> bool:
    """Whether this process holds the database's current keys (a rotation may have moved on)."""
    known = await roles(unit)
    data, index = _current(known[DATA_KEY]), _current(known[INDEX_KEY])
    return (
        data is not None
        and index is not None
        and protector.holds(DATA_KEY, data)
        and protector.holds(INDEX_KEY, index)
    )


async def refresh(unit: Unit, protector: KeyHolder) -> bool:
    """After a rotation: write with the database's current keys, if this process holds them."""
    known = await roles(unit)
    data, index = _current(known[DATA_KEY]), _current(known[INDEX_KEY])
    if data is None or index is None:
        return False
    if not (protector.holds(DATA_KEY, data) and protector.holds(INDEX_KEY, index)):
        return False
    protector.write_with(data_check=data, index_check=index)
    return True


def written_with_current_keys(protector: KeyHolder) -> sa.ColumnElement[bool]:
    """True when the keys this process writes with are the database's current ones."""
    return current_keys_are(protector.data_check, protector.index_check)


def current_keys_are(data_check: Any, index_check: Any) -> sa.ColumnElement[bool]:
    """True when these check values (or bound parameters for them) are the database's
    current keys' — and, on PostgreSQL, stay so until the transaction ends: the key rows are
    locked FOR SHARE, so a rotation's switch waits for every writer that checked them.

    Without the lock, a claim that passed the check and then waited on a busy client's row
    lock could outlast the switch and the batch that re-indexed that client, find no conflict
    under the old index any more, and register the person a second time under a retired key
    (found by a hostile review under load). A statement that meets a switch already made
    re-reads the key rows and finds the keys retired."""
    return sa.and_(
        *(
            sa.select(key_check.c.name)
            .where(
                key_check.c.name == name,
                key_check.c.role == CURRENT,
                key_check.c.check_value == check,
            )
            .with_for_update(read=True)
            .exists()
            for name, check in ((DATA_KEY, data_check), (INDEX_KEY, index_check))
        )
    )
