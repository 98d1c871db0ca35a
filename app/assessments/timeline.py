"""The segment timeline, computed from the append-only rows.

`previous_segment` and `changed` are derived when the timeline is read, from the entries in
effective order, so they can never disagree with the entry before them — however the writes
that produced the rows were interleaved, and whatever was later back-dated or retracted.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.assessments.models import Assessment, Retraction


@dataclass(frozen=True)
class Entry:
    assessment: Assessment
    retraction: Retraction | None
    previous: Assessment | None  # the active entry in force just before this one took effect

    @property
    def active(self) -> bool:
        return self.retraction is None

    @property
    def changed(self) -> bool:
        previous = self.previous
        return previous is None or (
            (previous.model_id, previous.decided_code)
            != (self.assessment.model_id, self.assessment.decided_code)
        )


def effective_order(assessment: Assessment) -> tuple[datetime, int]:
    return assessment.effective_at, assessment.sequence


def entries(assessments: Sequence[Assessment], retractions: Sequence[Retraction]) -> list[Entry]:
    """One entry per assessment, oldest effective first."""
    retracted = {r.assessment_id: r for r in retractions}
    result: list[Entry] = []
    last_active: Assessment | None = None
    for assessment in sorted(assessments, key=effective_order):
        retraction = retracted.get(assessment.id)
        result.append(Entry(assessment, retraction, last_active))
        if retraction is None:
            last_active = assessment
    return result


def in_force(timeline: Sequence[Entry], at: datetime) -> Entry | None:
    """The latest active entry that had taken effect at `at`."""
    current = None
    for entry in timeline:
        if entry.assessment.effective_at > at:
            break
        if entry.active:
            current = entry
    return current
