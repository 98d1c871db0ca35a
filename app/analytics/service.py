"""Population figures for one tenant and model: counted in SQL (queries.py), then withheld
where small (suppression.py). What leaves here is already safe to publish; views.py only
names it."""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.analytics import queries
from app.analytics.bands import BAND_KEYS
from app.analytics.suppression import share, shown, withheld
from app.db import Unit
from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import ModelRegistry

Code = int | None


@dataclass(frozen=True)
class Figure:
    """A count and its share of the total it belongs to; None where withheld."""

    count: int | None
    share: float | None


@dataclass(frozen=True)
class Row:
    """A breakdown's row (an age band, a group): its total and its segments' figures."""

    key: str
    total: Figure
    segments: list[tuple[int, Figure]]


@dataclass(frozen=True)
class Distribution:
    model: ModelVersion
    at: datetime
    total: int | None
    segments: list[tuple[int, Figure]]
    by: str | None = None
    rows: list[Row] | None = None


@dataclass(frozen=True)
class Transitions:
    model: ModelVersion
    start: datetime
    end: datetime
    cells: list[tuple[Code, Code, int | None]]


@dataclass(frozen=True)
class Point:
    at: datetime
    total: int | None
    segments: list[tuple[int, Figure]]


@dataclass(frozen=True)
class Targets:
    model: ModelVersion
    start: datetime
    end: datetime
    targets: dict[int, float]
    points: list[Point]


def codes_of(registry: ModelRegistry, model_id: str, found: set[int]) -> list[int]:
    """Every segment code of the model's versions, and any found in the data."""
    codes = {s.code for v in registry.get_versions(model_id) for s in v.segments}
    return sorted(codes | found)


def _figures(
    counts: dict[Hashable, int],
    keys: Sequence[Hashable],
    total: int,
    hidden: set[Hashable],
    total_hidden: bool,
) -> list[Figure]:
    return [
        Figure(shown(counts[k], k, hidden), share(counts[k], total, k, hidden, total_hidden))
        for k in keys
    ]


def _flat(codes: list[int], counts: dict[int, int]) -> tuple[int | None, list[tuple[int, Figure]]]:
    """One distribution line: the segments whose sum is the (known) total."""
    cells: dict[Hashable, int] = {code: counts.get(code, 0) for code in codes}
    total = sum(counts.values())
    cells["total"] = total
    hidden = withheld(cells, [list(codes)])
    total_hidden = "total" in hidden
    figures = _figures(cells, codes, total, hidden, total_hidden)
    return shown(total, "total", hidden), list(zip(codes, figures, strict=True))


async def distribution(
    unit: Unit,
    *,
    tenant: str,
    registry: ModelRegistry,
    model: ModelVersion,
    at: datetime,
    by: str | None,
) -> Distribution:
    if by == "age_band":
        return await _by_age(unit, tenant=tenant, registry=registry, model=model, at=at)
    rows = (await unit.execute(queries.distribution(tenant, model.id, at))).all()
    counts = {row.decided_code: row.clients for row in rows}
    codes = codes_of(registry, model.id, set(counts))
    if by == "group":
        return _by_group(model, at, codes, counts)
    total, segments = _flat(codes, counts)
    return Distribution(model, at, total, segments)


def _by_group(
    model: ModelVersion, at: datetime, codes: list[int], counts: dict[int, int]
) -> Distribution:
    """Segments and their groups: lines are the segments, the groups, and each group's
    segments (whose sum is the group's count)."""
    group_of = {s.code: s.group for s in model.segments}
    groups = list(dict.fromkeys(s.group for s in model.segments))
    members = {g: [c for c in codes if group_of.get(c) == g] for g in groups}
    cells: dict[Hashable, int] = {code: counts.get(code, 0) for code in codes}
    for g in groups:
        cells[("group", g)] = sum(cells[c] for c in members[g])
    total = sum(counts.values())
    cells["total"] = total
    lines: list[list[Hashable]] = [
        list(codes),
        [("group", g) for g in groups],
    ]
    lines.extend(list(m) for m in members.values())
    hidden = withheld(cells, lines)
    total_hidden = "total" in hidden
    rows = []
    for g in groups:
        key: Hashable = ("group", g)
        group_total = cells[key]
        figures = _figures(cells, members[g], group_total, hidden, key in hidden)
        rows.append(
            Row(
                g,
                Figure(
                    shown(group_total, key, hidden),
                    share(group_total, total, key, hidden, total_hidden),
                ),
                list(zip(members[g], figures, strict=True)),
            )
        )
    segments = list(zip(codes, _figures(cells, codes, total, hidden, total_hidden), strict=True))
    return Distribution(model, at, shown(total, "total", hidden), segments, "group", rows)


async def _by_age(
    unit: Unit, *, tenant: str, registry: ModelRegistry, model: ModelVersion, at: datetime
) -> Distribution:
    """Segments by age band: lines are each band's segments, each segment's bands, the
    bands and the segments."""
    rows = (await unit.execute(queries.distribution_by_age(tenant, model.id, at))).all()
    codes = codes_of(registry, model.id, {row.decided_code for row in rows})
    cells: dict[Hashable, int] = {(b, c): 0 for b in BAND_KEYS for c in codes}
    for row in rows:
        cells[(row.band, row.decided_code)] += row.clients
    for b in BAND_KEYS:
        cells[("band", b)] = sum(cells[(b, c)] for c in codes)
    for c in codes:
        cells[c] = sum(cells[(b, c)] for b in BAND_KEYS)
    total = sum(cells[c] for c in codes)
    cells["total"] = total
    lines: list[list[Hashable]] = [[("band", b) for b in BAND_KEYS], list(codes)]
    lines.extend([(b, c) for c in codes] for b in BAND_KEYS)
    lines.extend([(b, c) for b in BAND_KEYS] for c in codes)
    hidden = withheld(cells, lines)
    total_hidden = "total" in hidden
    breakdown = []
    for b in BAND_KEYS:
        key: Hashable = ("band", b)
        band_total = cells[key]
        figures = _figures(cells, [(b, c) for c in codes], band_total, hidden, key in hidden)
        breakdown.append(
            Row(
                b,
                Figure(
                    shown(band_total, key, hidden),
                    share(band_total, total, key, hidden, total_hidden),
                ),
                list(zip(codes, figures, strict=True)),
            )
        )
    segments = list(zip(codes, _figures(cells, codes, total, hidden, total_hidden), strict=True))
    return Distribution(model, at, shown(total, "total", hidden), segments, "age_band", breakdown)


async def transitions(
    unit: Unit,
    *,
    tenant: str,
    registry: ModelRegistry,
    model: ModelVersion,
    start: datetime,
    end: datetime,
) -> Transitions:
    """The from × to matrix, every cell listed (a client who entered the model comes from
    None, one who left goes to None); lines are its rows and its columns, whose sums are the
    distributions at `start` and at `end`."""
    rows = (await unit.execute(queries.transitions(tenant, model.id, start, end))).all()
    found = {c for row in rows for c in (row.from_code, row.to_code) if c is not None}
    codes: list[Code] = [*codes_of(registry, model.id, found), None]
    cells: dict[Hashable, int] = {(f, t): 0 for f in codes for t in codes if (f, t) != (None, None)}
    for row in rows:
        cells[(row.from_code, row.to_code)] = row.clients
    lines: list[list[Hashable]] = [[(f, t) for t in codes if (f, t) in cells] for f in codes]
    lines.extend([(f, t) for f in codes if (f, t) in cells] for t in codes)
    hidden = withheld(cells, lines)
    listed = [
        (f, t, shown(cells[(f, t)], (f, t), hidden))
        for f in codes
        for t in codes
        if (f, t) in cells
    ]
    return Transitions(model, start, end, listed)


async def targets(
    unit: Unit,
    *,
    tenant: str,
    registry: ModelRegistry,
    model: ModelVersion,
    start: datetime,
    end: datetime,
    points: list[datetime],
    shares: dict[int, float],
) -> Targets:
    """The distribution at each of `points`, from one pass over the spans (queries.series),
    each point withheld as a distribution is."""
    rows = (await unit.execute(queries.series(tenant, model.id, points))).all()
    codes = codes_of(registry, model.id, {row.decided_code for row in rows})
    starts = {c: [0] * (len(points) + 1) for c in codes}
    ends = {c: [0] * (len(points) + 1) for c in codes}
    for row in rows:
        starts[row.decided_code][row.first] += row.clients
        ends[row.decided_code][row.last] += row.clients
    running = dict.fromkeys(codes, 0)
    series = []
    for i, at in enumerate(points):
        for c in codes:
            running[c] += starts[c][i] - ends[c][i]
        total, segments = _flat(codes, dict(running))
        series.append(Point(at, total, segments))
    return Targets(model, start, end, shares, series)
