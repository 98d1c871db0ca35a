"""Reading PostgreSQL's 32-bit transaction ids against a 64-bit snapshot: an id is placed on
whichever side of the snapshot it lies in the circular order, across an epoch too."""

import pytest

from app.exports.service import _signed_distance

EPOCH = 2**32


@pytest.mark.parametrize(
    ("xid32", "xmax", "full"),
    [
        (100, 105, 100),  # began before the snapshot, still running
        (107, 105, 107),  # got its id after the snapshot's last completed one
        (105, 105, 105),
        (EPOCH - 6, EPOCH + 5, EPOCH - 6),  # the epoch before
        (7, EPOCH - 3, EPOCH + 7),  # the next epoch already
    ],
)
def test_a_running_transaction_is_placed_next_to_the_snapshot(
    xid32: int, xmax: int, full: int
) -> None:
    assert xmax + _signed_distance(xid32, xmax) == full
