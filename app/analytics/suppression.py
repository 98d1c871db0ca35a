"""Small-number suppression: which counts of a published table are withheld.

A count under five could point at a person, so it is withheld (primary suppression). So is
any count that could be worked out from what is shown: wherever a line of cells has a known
sum (a row and its total, a column and its total, the segments and the population) and
exactly one of its cells is withheld, the next smallest of that line is withheld too
(secondary suppression), until no line gives one away. Every sum is assumed known, even
where it is withheld elsewhere — a reader may have it from another figure.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

MIN_COUNT = 5

Cell = TypeVar("Cell", bound=Hashable)


def withheld(counts: Mapping[Cell, int], lines: Iterable[Sequence[Cell]]) -> set[Cell]:
    """The cells of `counts` to withhold, given the `lines` whose sums are known."""
    hidden = {cell for cell, count in counts.items() if count < MIN_COUNT}
    lines = [list(line) for line in lines]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) != 1:
                continue
            shown = [(counts[cell], position) for position, cell in enumerate(line)]
            candidates = [item for item in shown if line[item[1]] not in hidden]
            if candidates:
                hidden.add(line[min(candidates)[1]])
                changed = True
    return hidden


def shown(count: int, cell: Cell, hidden: set[Cell]) -> int | None:
    return None if cell in hidden else count


def share(
    count: int, total: int, cell: Cell, hidden: set[Cell], total_hidden: bool
) -> float | None:
    """A count's share of its total, withheld with either."""
    if cell in hidden or total_hidden or total == 0:
        return None
    return round(count / total, 4)
