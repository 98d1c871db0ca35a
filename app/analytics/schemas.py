"""API bodies of the population figures. Every count under five, and every figure from which
one could be worked out, is null."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Suppressed = "Null when withheld: under 5, or revealing one that is."
Breakdown = Literal["age_band", "group"]


class SegmentCount(BaseModel):
    code: int
    key: str
    name: str
    count: int | None = Field(description=Suppressed)
    share: float | None = Field(description="Of the total it belongs to, 0–1. " + Suppressed)


class BreakdownRow(BaseModel):
    key: str = Field(description="The age band (e.g. `65-74`, `unknown`) or the group key.")
    name: str
    total: int | None = Field(description=Suppressed)
    share: float | None = Field(description="Of the whole population. " + Suppressed)
    segments: list[SegmentCount] = Field(description="Shares are of this row's total.")


class SegmentDistribution(BaseModel):
    model: str
    model_name: str
    at: datetime
    total: int | None = Field(description="Clients with a segment of the model in force.")
    segments: list[SegmentCount]
    by: Breakdown | None = None
    breakdown: list[BreakdownRow] | None = None
    language: str


class TransitionRow(BaseModel):
    from_code: int | None = Field(description="Null: not in the model at `from` (entered).")
    to_code: int | None = Field(description="Null: no longer in the model at `to` (left).")
    from_name: str | None
    to_name: str | None
    count: int | None = Field(description=Suppressed)


class SegmentTransitions(BaseModel):
    model: str
    model_name: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    rows: list[TransitionRow]
    language: str

    model_config = {"populate_by_name": True}


class TargetShare(BaseModel):
    code: int
    key: str
    name: str
    share: float = Field(description="The share of the model's clients the county aims at.")


class TargetSegment(SegmentCount):
    target: float | None = Field(description="The segment's target share; null: none set.")


class TargetPoint(BaseModel):
    at: datetime
    total: int | None = Field(description=Suppressed)
    segments: list[TargetSegment]


class TargetFollowUp(BaseModel):
    model: str
    model_name: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    targets: list[TargetShare] = Field(description="From the tenant's configuration.")
    points: list[TargetPoint] = Field(description="Monthly, from `from` until `to`.")
    language: str

    model_config = {"populate_by_name": True}
