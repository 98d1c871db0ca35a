"""What a segment requires of care coordination, against what a client has: pure rules.

A segment states, per kind of coordination (`named_contact`, `team`, `plan`), whether it is
`required`, `usually` needed, needed `if_needed` or `not_needed` (seed 002's table, API.md).
What is required and lacking is `missing`; what is usually needed and lacking is `advised`;
`if_needed` is the professional's judgement and never reported as a gap.

The re-assessment date is the earlier of the tenant's policy date and the review of the
client's open plans: reviewing a plan and looking at the segment again go together.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.segmentation.catalog import COORDINATION

# Plans are reviewed by a calendar day; the day begins in Finnish time.
FINLAND = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class Holdings:
    """What coordination a client has at a moment."""

    named_contact: bool
    team: bool
    plan: bool
    # The earliest review among the client's open plans (the newest of each kind).
    plan_review_at: datetime | None = None

    def has(self, kind: str) -> bool:
        held: bool = getattr(self, kind)
        return held


NOTHING = Holdings(named_contact=False, team=False, plan=False)


@dataclass(frozen=True)
class Gaps:
    missing: tuple[str, ...]
    advised: tuple[str, ...]


def gaps(needs: Mapping[str, str], holdings: Holdings) -> Gaps:
    """What the segment requires (`missing`) and usually asks (`advised`) that is lacking,
    in the order of COORDINATION."""
    lacking = [kind for kind in COORDINATION if not holdings.has(kind)]
    return Gaps(
        missing=tuple(k for k in lacking if needs.get(k) == "required"),
        advised=tuple(k for k in lacking if needs.get(k) == "usually"),
    )


def review_moment(review_by: date) -> datetime:
    """When a plan's review day begins: a review due on a day is due all of that day."""
    return datetime.combine(review_by, time(0), tzinfo=FINLAND).astimezone(UTC)


@dataclass(frozen=True)
class Reassessment:
    at: datetime
    basis: str  # `policy` (the tenant's interval) or `plan` (an open plan's review)


def reassess_by(
    since: datetime, interval_days: int | None, plan_review_at: datetime | None
) -> Reassessment | None:
    """The earlier of the policy date (`since` + the interval) and the plan's review; a tie
    is the plan's, whose review brings the segment with it."""
    policy = since + timedelta(days=interval_days) if interval_days is not None else None
    if plan_review_at is not None and (policy is None or plan_review_at <= policy):
        return Reassessment(plan_review_at, "plan")
    return Reassessment(policy, "policy") if policy is not None else None
