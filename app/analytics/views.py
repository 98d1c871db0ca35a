"""Population figures named in one language: segments in the tenant's wording of the model."""

from app.analytics.bands import band_name
from app.analytics.schemas import (
    BreakdownRow,
    SegmentCount,
    SegmentDistribution,
    SegmentTransitions,
    TargetFollowUp,
    TargetPoint,
    TargetSegment,
    TargetShare,
    TransitionRow,
)
from app.analytics.service import Distribution, Figure, Targets, Transitions
from app.segmentation.catalog import ModelVersion, Segment
from app.segmentation.registry import ModelRegistry


class Names:
    """Segment names of a model: from its newest version that has the code (an older
    version's code the newest dropped still has a name)."""

    def __init__(self, registry: ModelRegistry, model: ModelVersion, lang: str) -> None:
        self.lang = lang
        self.segments: dict[int, Segment] = {}
        for version in registry.get_versions(model.id):
            self.segments.update({s.code: s for s in version.segments})
        self.segments.update({s.code: s for s in model.segments})

    def key(self, code: int) -> str:
        segment = self.segments.get(code)
        return segment.key if segment else str(code)

    def name(self, code: int | None) -> str | None:
        if code is None:
            return None
        segment = self.segments.get(code)
        return segment.name[self.lang] if segment else str(code)


def _count(names: Names, code: int, figure: Figure) -> SegmentCount:
    return SegmentCount(
        code=code,
        key=names.key(code),
        name=names.name(code) or "",
        count=figure.count,
        share=figure.share,
    )


def distribution(registry: ModelRegistry, figures: Distribution, lang: str) -> SegmentDistribution:
    model = figures.model
    names = Names(registry, model, lang)
    rows = None
    if figures.rows is not None:
        rows = [
            BreakdownRow(
                key=row.key,
                name=(
                    band_name(row.key)[lang]
                    if figures.by == "age_band"
                    else model.groups[row.key][lang]
                ),
                total=row.total.count,
                share=row.total.share,
                segments=[_count(names, code, figure) for code, figure in row.segments],
            )
            for row in figures.rows
        ]
    return SegmentDistribution(
        model=model.id,
        model_name=model.name[lang],
        at=figures.at,
        total=figures.total,
        segments=[_count(names, code, figure) for code, figure in figures.segments],
        by=figures.by,
        breakdown=rows,
        language=lang,
    )


def transitions(registry: ModelRegistry, figures: Transitions, lang: str) -> SegmentTransitions:
    names = Names(registry, figures.model, lang)
    return SegmentTransitions(
        model=figures.model.id,
        model_name=figures.model.name[lang],
        from_=figures.start,
        to=figures.end,
        rows=[
            TransitionRow(
                from_code=f, to_code=t, from_name=names.name(f), to_name=names.name(t), count=n
            )
            for f, t, n in figures.cells
        ],
        language=lang,
    )


def targets(registry: ModelRegistry, figures: Targets, lang: str) -> TargetFollowUp:
    names = Names(registry, figures.model, lang)
    return TargetFollowUp(
        model=figures.model.id,
        model_name=figures.model.name[lang],
        from_=figures.start,
        to=figures.end,
        targets=[
            TargetShare(code=c, key=names.key(c), name=names.name(c) or "", share=share)
            for c, share in sorted(figures.targets.items())
        ],
        points=[
            TargetPoint(
                at=point.at,
                total=point.total,
                segments=[
                    TargetSegment(
                        **_count(names, code, figure).model_dump(),
                        target=figures.targets.get(code),
                    )
                    for code, figure in point.segments
                ],
            )
            for point in figures.points
        ],
        language=lang,
    )
