"""What each rule needs of a model version, checked when the file is loaded."""

from app.segmentation.catalog import SERVICE_USE_PARAMETERS, ModelVersion
from app.segmentation.toml_reader import Reader


def check_rule(r: Reader, model: ModelVersion) -> None:
    codes = [s.code for s in model.segments]
    keys = [s.key for s in model.segments]
    if len(set(codes)) != len(codes):
        raise r.fail("segments", "duplicate segment code")
    if len(set(keys)) != len(keys):
        raise r.fail("segments", "duplicate segment key")
    registered = [s.register_code for s in model.segments]
    if model.register and None in registered:
        raise r.fail("segments", "a model with a register gives every segment a register_code")
    if not model.register and any(c is not None for c in registered):
        raise r.fail("segments", "register_code needs a `register` for the model")
    if model.rule == "grid":
        _check_grid(r, model)
    else:
        _check_service_use(r, model)


def _check_grid(r: Reader, model: ModelVersion) -> None:
    """Every combination of the grid's answers must place the client in exactly one segment."""
    grid_answers = sorted({name for s in model.segments for name in s.when})
    if not grid_answers:
        raise r.fail("segments", "a grid model needs `when` on its segments")
    cells: dict[tuple[str, ...], str] = {}
    for index, segment in enumerate(model.segments):
        if sorted(segment.when) != grid_answers:
            raise r.fail(f"segments[{index}].when", f"must name exactly {grid_answers}")
        for name, value in segment.when.items():
            spec = model.answer(name)
            if spec is None or spec.kind != "choice" or not spec.required:
                raise r.fail(f"segments[{index}].when.{name}", "not a required choice answer")
            if value not in spec.values:
                raise r.fail(f"segments[{index}].when.{name}", f"{value!r} is not a value")
        cell = tuple(segment.when[name] for name in grid_answers)
        if cell in cells:
            raise r.fail(f"segments[{index}].when", f"same cell as segment {cells[cell]}")
        cells[cell] = segment.key
    size = 1
    for name in grid_answers:
        size *= len(model.answer(name).values)  # type: ignore[union-attr]
    if len(cells) != size:
        raise r.fail("segments", "the `when` tables leave some answer combination unplaced")
    duration = model.answer("duration")
    for index, segment in enumerate(model.segments):
        if segment.typical_duration is not None and (
            duration is None or segment.typical_duration not in duration.values
        ):
            raise r.fail(f"segments[{index}].typical_duration", "not a value of `duration`")


def _check_service_use(r: Reader, model: ModelVersion) -> None:
    missing = [p for p in SERVICE_USE_PARAMETERS if p not in model.parameters]
    if missing:
        raise r.fail("parameters", f"missing {', '.join(missing)}")
    if model.parameters_basis is None:
        raise r.fail("parameters_basis", "missing: say whether the thresholds are the county's "
                     "own (seed) or local policy")  # fmt: skip
    if sorted(s.code for s in model.segments) != [1, 2, 3]:
        raise r.fail("segments", "the service_use rule needs segments with codes 1, 2 and 3")
    for name, kind in (
        ("planned_contacts", "integer"),
        ("unplanned_contacts", "integer"),
        ("unplanned_contacts_previous", "integer"),
        ("regular_services", "boolean"),
        ("risk_factors", "choice_list"),
    ):
        spec = model.answer(name)
        if spec is None or spec.kind != kind:
            raise r.fail("answers", f"the service_use rule needs a {kind} answer `{name}`")
