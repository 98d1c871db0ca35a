"""Monthly points over a period."""

from datetime import datetime

MAX_POINTS = 121  # ten years and a month


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the month lacks becomes its last."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def monthly(start: datetime, end: datetime) -> list[datetime]:
    """`start`, then every month after it until `end` (at most MAX_POINTS + 1 of them)."""
    points: list[datetime] = []
    while len(points) <= MAX_POINTS:
        point = add_months(start, len(points))
        if point > end:
            break
        points.append(point)
    return points
