"""A model version as the service holds it: immutable, complete, checked when it was loaded.

A model version is read from one TOML file (app/segmentation/loader.py, docs/model-files.md).
What a county wrote and what is our inference or its local policy are told apart in the file
(comments citing the seeds) and, where a professional sees it, in the data: the thresholds of a
rule say whether they come from the county's material (`seed`) or are local policy.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

LANGUAGES = ("fi", "sv", "en")
ANSWER_KINDS = ("choice", "integer", "boolean", "choice_list", "levels")
RULES = ("grid", "service_use")
SERVICE_USE_PARAMETERS = (
    "unplanned_heavy",
    "unplanned_rising_minimum",
    "planned_regular",
    "attention_risk_factors",
)
# Where a figure comes from: the county's material, or a county's own decision.
BASES = ("seed", "local_policy")
# What a segment requires of care coordination (seed 002's table, API.md).
COORDINATION = ("named_contact", "team", "plan")
NEEDS = ("required", "usually", "if_needed", "not_needed")

Text = Mapping[str, str]


class ModelFileError(Exception):
    """A model file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class AnswerSpec:
    name: str
    kind: str
    required: bool
    label: Text
    values: tuple[str, ...] = ()
    value_labels: Mapping[str, Text] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    key_labels: Mapping[str, Text] = field(default_factory=dict)
    minimum: int | None = None


@dataclass(frozen=True)
class Segment:
    code: int
    key: str
    register_code: int | None
    group: str
    name: Text
    description: Text
    implications: Mapping[str, Text]
    # named_contact / team / plan → required | usually | if_needed | not_needed
    coordination: Mapping[str, str]
    when: Mapping[str, str] = field(default_factory=dict)
    typical_duration: str | None = None
    promise: Text | None = None
    # Tenant policy laid over the model (docs/tenants.md); no seed gives an interval, so model
    # files never set it. None: no fixed date, the need is assessed as the situation changes.
    reassess_after_days: int | None = None


@dataclass(frozen=True)
class Consistency:
    """Answers that do not usually go together: a warning, never a different segment."""

    when: Mapping[str, str]
    message: Text


@dataclass(frozen=True)
class ModelVersion:
    id: str
    version: str
    valid_from: date
    rule: str
    register: str | None
    name: Text
    source: Text
    answers: tuple[AnswerSpec, ...]
    aspects: Mapping[str, Text]
    groups: Mapping[str, Text]
    segments: tuple[Segment, ...]
    parameters: Mapping[str, int]
    # The last day the version is in force (an assessment taking effect later needs another).
    valid_until: date | None = None
    # From this day on no new assessment may use the version; stored ones keep it.
    withdrawn_on: date | None = None
    parameters_basis: str | None = None
    parameters_note: Text | None = None
    consistency: tuple[Consistency, ...] = ()
    # Where the register numbering comes from, when a tenant supplied it (docs/tenants.md).
    register_note: Text | None = None
    path: str = ""
    # The suggestions worked out for this version's answers so far (`rules.classify`): not a
    # field to set, and not carried over to a version derived from this one with `replace`.
    classified: dict[object, object] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def answer(self, name: str) -> AnswerSpec | None:
        return next((a for a in self.answers if a.name == name), None)

    def segment_by_code(self, code: int) -> Segment | None:
        return next((s for s in self.segments if s.code == code), None)

    def segment_by_key(self, key: str) -> Segment | None:
        return next((s for s in self.segments if s.key == key), None)

    def withdrawn_at(self, day: date) -> bool:
        return self.withdrawn_on is not None and day >= self.withdrawn_on
