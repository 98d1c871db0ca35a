"""Care teams, plans, coordination and worklists as the API shows them."""

from app.care.schemas import (
    CareTeamMemberView,
    GapItem,
    MineItem,
    PlanView,
    ReassessmentItem,
)
from app.care.service import Membership, PlanRecord
from app.care.worklists import Due, Gap, Mine
from app.catalog.views import segment_ref


def member(membership: Membership) -> CareTeamMemberView:
    row = membership.member
    return CareTeamMemberView(
        member_id=row.id,
        client_id=row.client_id,
        professional=row.professional,
        role=row.role,
        title=row.title,
        valid_from=row.valid_from,
        ended_at=membership.end.at if membership.end else None,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )


def plan(record: PlanRecord) -> PlanView:
    row = record.plan
    return PlanView(
        plan_id=row.id,
        client_id=row.client_id,
        kind=row.kind,
        made_at=row.made_at,
        review_by=row.review_by,
        open=record.open,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )


def due(item: Due, lang: str) -> ReassessmentItem:
    current = item.current
    return ReassessmentItem(
        client_id=current.client_id,
        segment=segment_ref(current.model, current.segment.code, lang),
        model=current.model.id,
        reassess_by=item.reassess_by,
        reassess_basis=item.basis,
        overdue_days=item.overdue_days,
    )


def gap(item: Gap, lang: str) -> GapItem:
    current = item.current
    return GapItem(
        client_id=current.client_id,
        segment=segment_ref(current.model, current.segment.code, lang),
        model=current.model.id,
        missing=list(item.gaps.missing),
        advised=list(item.gaps.advised),
        since=current.valid_from,
    )


def mine(item: Mine, lang: str) -> MineItem:
    current = item.current
    return MineItem(
        client_id=item.client_id,
        roles=list(item.roles),
        segment=segment_ref(current.model, current.segment.code, lang) if current else None,
        model=current.model.id if current else None,
        reassess_by=item.reassess_by,
        overdue_days=item.overdue_days,
        missing=list(item.gaps.missing),
        advised=list(item.gaps.advised),
    )
