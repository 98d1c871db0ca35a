"""Request and response bodies of care teams, plans and the worklists."""

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator

from app.catalog.schemas import Coordination, SegmentRef
from app.schemas import FreeText, Moment, RequestBody, no_blank, single_line_text

Role = Literal["named_contact", "team_member"]
PlanKind = Literal[
    "client_plan",
    "service_plan",
    "health_and_care_plan",
    "rehabilitation_plan",
    "substance_use_plan",
]

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _day(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("expected a date, e.g. 2027-03-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date that exists") from None


def _professional(value: str) -> str:
    if not single_line_text(value, 255):
        raise ValueError(
            "must be the professional's id as in tokens' `sub`: 1 to 255 visible characters on "
            "one line, and not an identity code"
        )
    return value


Day = Annotated[date, BeforeValidator(_day)]
Professional = Annotated[str, AfterValidator(_professional)]


class CareTeamRequest(RequestBody):
    professional: Professional = Field(description="The professional's id, as in tokens' `sub`.")
    role: Role = Field(
        description="`named_contact`: the omatyöntekijä (social care) or hoitovastaava (health "
        "care); `team_member`: one of the client's own team (omatiimi)."
    )
    title: FreeText = Field(
        min_length=1, max_length=100, description="e.g. hoitovastaava, omatyöntekijä."
    )
    valid_from: Moment = Field(alias="from", description="Not in the future.")

    _title = field_validator("title")(no_blank)


class CareTeamEndRequest(RequestBody):
    at: Moment = Field(description="Not before the membership's `from`, nor in the future.")


class CareTeamMemberView(BaseModel):
    member_id: uuid.UUID
    client_id: uuid.UUID
    professional: str
    role: Role
    title: str
    valid_from: datetime = Field(serialization_alias="from")
    ended_at: datetime | None = Field(
        description="When the membership ended (after the moment asked about); null: not ended."
    )
    recorded_at: datetime
    recorded_by: str


class CareTeam(BaseModel):
    client_id: uuid.UUID
    at: datetime
    items: list[CareTeamMemberView] = Field(description="The members in force at `at`.")


class PlanRequest(RequestBody):
    kind: PlanKind = Field(
        description="asiakassuunnitelma, palvelusuunnitelma, terveys- ja hoitosuunnitelma, "
        "kuntoutussuunnitelma, päihdesuunnitelma (seed 002)."
    )
    made_at: Moment = Field(description="Not in the future.")
    review_by: Day = Field(description="The day the plan is to be reviewed by.")


class PlanView(BaseModel):
    plan_id: uuid.UUID
    client_id: uuid.UUID
    kind: PlanKind
    made_at: datetime
    review_by: date
    open: bool = Field(
        description="The newest plan of its kind made so far; older ones are replaced."
    )
    recorded_at: datetime
    recorded_by: str


class Plans(BaseModel):
    items: list[PlanView] = Field(description="Oldest first.")


class ReassessmentItem(BaseModel):
    client_id: uuid.UUID
    segment: SegmentRef
    model: str
    reassess_by: datetime
    reassess_basis: Literal["policy", "plan"]
    overdue_days: int = Field(description="Whole days past `reassess_by`; negative: not yet due.")


class ReassessmentWorklist(BaseModel):
    items: list[ReassessmentItem]
    next: str | None = Field(description="More items: pass it as `after`.")


class GapItem(BaseModel):
    client_id: uuid.UUID
    segment: SegmentRef
    model: str
    missing: list[Coordination]
    advised: list[Coordination]
    since: datetime = Field(
        description="When the segment that requires what is missing took effect."
    )


class GapWorklist(BaseModel):
    items: list[GapItem]
    next: str | None = Field(description="More items: pass it as `after`.")


class MineItem(BaseModel):
    client_id: uuid.UUID
    roles: list[Role] = Field(description="The caller's roles in the client's care team.")
    segment: SegmentRef | None = Field(description="null: the client has no segment in force.")
    model: str | None
    reassess_by: datetime | None
    overdue_days: int | None
    missing: list[Coordination]
    advised: list[Coordination]


class MineWorklist(BaseModel):
    items: list[MineItem]
    next: str | None = Field(description="More items: pass it as `after`.")
