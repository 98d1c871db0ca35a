"""SVG charts of the population figures, drawn from the same bodies the JSON answers with.

Built with ElementTree, so every text — a county's own segment names included — is escaped.
Each mark carries its figure in `data-*` attributes, so a test (or a screen reader's
tooling) can hold the picture to the numbers. Withheld figures are drawn as a dash, never as
a zero.
"""

import textwrap
import xml.etree.ElementTree as ET
from datetime import datetime

from app.analytics.schemas import (
    SegmentCount,
    SegmentDistribution,
    SegmentTransitions,
    TargetFollowUp,
)

# Okabe–Ito: told apart in the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
FONT = "font-family:DejaVu Sans,Arial,sans-serif"
WITHHELD = "–"

TEXTS = {
    "distribution": {
        "fi": "Asiakkaat segmenteittäin",
        "sv": "Klienter per segment",
        "en": "Clients by segment",
    },
    "transitions": {
        "fi": "Siirtymät segmenttien välillä",
        "sv": "Övergångar mellan segment",
        "en": "Moves between segments",
    },
    "targets": {
        "fi": "Segmenttien osuudet ja tavoitteet",
        "sv": "Segmentens andelar och mål",
        "en": "Segment shares and targets",
    },
    "at": {"fi": "Tilanne", "sv": "Läge", "en": "As of"},
    "total": {"fi": "Yhteensä", "sv": "Totalt", "en": "Total"},
    "clients": {"fi": "asiakasta", "sv": "klienter", "en": "clients"},
    "from": {"fi": "Alussa", "sv": "I början", "en": "At the start"},
    "to": {"fi": "Lopussa", "sv": "I slutet", "en": "At the end"},
    "entered": {
        "fi": "Ei segmenttiä (tuli)",
        "sv": "Inget segment (kom till)",
        "en": "None (entered)",
    },
    "left": {"fi": "Ei segmenttiä (poistui)", "sv": "Inget segment (lämnade)", "en": "None (left)"},
    "target": {"fi": "tavoite", "sv": "mål", "en": "target"},
    "age_band": {"fi": "Ikäryhmittäin", "sv": "Per åldersgrupp", "en": "By age band"},
    "group": {"fi": "Ryhmittäin", "sv": "Per grupp", "en": "By group"},
    "withheld": {
        "fi": "– = pieni luku, ei näytetä (alle 5 tai siitä pääteltävissä)",
        "sv": "– = litet tal, visas inte (under 5 eller möjligt att härleda)",
        "en": "– = small number, withheld (under 5, or revealing one that is)",
    },
}


def _t(key: str, lang: str) -> str:
    return TEXTS[key][lang]


def _day(moment: datetime, lang: str) -> str:
    day = moment.date()
    return day.isoformat() if lang == "en" else f"{day.day}.{day.month}.{day.year}"


def _percent(share: float | None, lang: str) -> str:
    if share is None:
        return WITHHELD
    text = f"{share * 100:.1f}"
    return f"{text}%" if lang == "en" else f"{text.replace('.', ',')} %"


def _count(count: int | None) -> str:
    return WITHHELD if count is None else f"{count:,}".replace(",", "\u00a0")


class _Canvas:
    def __init__(self, width: int, height: int, title: str, lang: str) -> None:
        self.root = ET.Element(
            "svg",
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "width": str(width),
                "height": str(height),
                "viewBox": f"0 0 {width} {height}",
                "role": "img",
                "lang": lang,
                "style": FONT,
            },
        )
        ET.SubElement(self.root, "title").text = title
        ET.SubElement(
            self.root, "rect", {"width": str(width), "height": str(height), "fill": "#fff"}
        )

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: int = 13,
        anchor: str = "start",
        weight: str = "normal",
        fill: str = "#222",
        data: dict[str, str] | None = None,
    ) -> ET.Element:
        element = ET.SubElement(
            self.root,
            "text",
            {
                "x": f"{x:.1f}",
                "y": f"{y:.1f}",
                "font-size": str(size),
                "text-anchor": anchor,
                "font-weight": weight,
                "fill": fill,
                **(data or {}),
            },
        )
        element.text = content
        return element

    def shape(self, kind: str, **attributes: str) -> ET.Element:
        return ET.SubElement(
            self.root, kind, {k.replace("_", "-"): v for k, v in attributes.items()}
        )

    def svg(self) -> str:
        return ET.tostring(self.root, encoding="unicode", xml_declaration=False)


def _bars(
    canvas: _Canvas,
    top: float,
    segments: list[SegmentCount],
    lang: str,
    left: float,
    width: float,
    row: str = "",
) -> float:
    """Horizontal bars, one a segment, length by share; returns the y below them."""
    y = top
    for segment in segments:
        canvas.text(left - 10, y + 17, segment.name, anchor="end")
        length = (segment.share or 0) * width
        canvas.shape(
            "rect",
            x=f"{left}",
            y=f"{y + 4}",
            width=f"{length:.1f}",
            height="18",
            fill=COLOURS[(segment.code - 1) % len(COLOURS)],
        )
        canvas.text(
            left + length + 8,
            y + 17,
            f"{_count(segment.count)}  ({_percent(segment.share, lang)})",
            data={
                "class": "count",
                "data-code": str(segment.code),
                "data-row": row,
                "data-count": "" if segment.count is None else str(segment.count),
                "data-share": "" if segment.share is None else str(segment.share),
            },
        )
        y += 28
    return y


def distribution(body: SegmentDistribution) -> str:
    lang = body.language
    rows = body.breakdown or []
    height = 130 + len(body.segments) * 28 + 30
    if rows:
        height += 50 + sum(len(row.segments) * 28 + 30 for row in rows)
    canvas = _Canvas(900, height, f"{_t('distribution', lang)} — {body.model_name}", lang)
    canvas.text(24, 34, _t("distribution", lang), size=20, weight="bold")
    canvas.text(24, 58, f"{body.model_name} · {_t('at', lang)} {_day(body.at, lang)}")
    canvas.text(
        24,
        80,
        f"{_t('total', lang)}: {_count(body.total)} {_t('clients', lang)}",
        data={"class": "total", "data-count": "" if body.total is None else str(body.total)},
    )
    y = _bars(canvas, 100, body.segments, lang, left=300, width=440)
    if rows and body.by is not None:
        canvas.text(24, y + 30, _t(body.by, lang), size=16, weight="bold")
        y += 44
        for row in rows:
            canvas.text(
                24,
                y + 14,
                f"{row.name}: {_count(row.total)} ({_percent(row.share, lang)})",
                weight="bold",
                data={
                    "class": "row-total",
                    "data-row": row.key,
                    "data-count": "" if row.total is None else str(row.total),
                },
            )
            y = _bars(canvas, y + 20, row.segments, lang, left=300, width=440, row=row.key) + 10
    canvas.text(24, height - 14, _t("withheld", lang), size=11, fill="#555")
    return canvas.svg()


def transitions(body: SegmentTransitions) -> str:
    lang = body.language
    codes: list[int | None] = []
    names: dict[int | None, str] = {}
    for row in body.rows:
        for code, name in ((row.from_code, row.from_name), (row.to_code, row.to_name)):
            if code not in names:
                codes.append(code)
                names[code] = name or ""
    codes = [*sorted(c for c in codes if c is not None), None]
    cell, left, top = 96, 250, 150
    width = left + cell * len(codes) + 40
    height = top + cell * len(codes) + 60
    canvas = _Canvas(
        max(width, 720), height, f"{_t('transitions', lang)} — {body.model_name}", lang
    )
    canvas.text(24, 34, _t("transitions", lang), size=20, weight="bold")
    canvas.text(24, 58, f"{body.model_name} · {_day(body.from_, lang)} → {_day(body.to, lang)}")
    canvas.text(
        left - 10,
        top - 70,
        f"{_t('from', lang)} ↓   {_t('to', lang)} →",
        anchor="end",
        size=12,
        fill="#555",
    )
    counts = [r.count for r in body.rows if r.count is not None]
    most = max(counts, default=1) or 1
    for j, code in enumerate(codes):
        label = names[code] if code is not None else _t("left", lang)
        x = left + j * cell + cell / 2
        header = canvas.text(x, top - 12, label, anchor="start", size=12)
        header.set("transform", f"rotate(-30 {x:.1f} {top - 12:.1f})")
    for i, code in enumerate(codes):
        label = names[code] if code is not None else _t("entered", lang)
        canvas.text(left - 10, top + i * cell + cell / 2 + 5, label, anchor="end", size=12)
    by_pair = {(r.from_code, r.to_code): r.count for r in body.rows}
    for i, f in enumerate(codes):
        for j, t in enumerate(codes):
            x, y = left + j * cell, top + i * cell
            if (f, t) not in by_pair:
                canvas.shape(
                    "rect",
                    x=f"{x}",
                    y=f"{y}",
                    width=str(cell),
                    height=str(cell),
                    fill="#eee",
                    stroke="#fff",
                )
                continue
            count = by_pair[(f, t)]
            strength = 0.0 if count is None else count / most
            fill = "#f4f4f4" if count is None else f"rgba(0,114,178,{0.12 + 0.88 * strength:.2f})"
            canvas.shape(
                "rect",
                x=f"{x}",
                y=f"{y}",
                width=str(cell),
                height=str(cell),
                fill=fill,
                stroke="#fff",
                stroke_width="2",
            )
            canvas.text(
                x + cell / 2,
                y + cell / 2 + 6,
                _count(count),
                anchor="middle",
                size=15,
                fill="#fff" if strength > 0.55 else "#222",
                data={
                    "class": "count",
                    "data-from": "" if f is None else str(f),
                    "data-to": "" if t is None else str(t),
                    "data-count": "" if count is None else str(count),
                },
            )
    canvas.text(24, height - 14, _t("withheld", lang), size=11, fill="#555")
    return canvas.svg()


def targets(body: TargetFollowUp) -> str:
    lang = body.language
    codes = [s.code for s in body.points[0].segments] if body.points else []
    names = {s.code: s.name for s in body.points[0].segments} if body.points else {}
    left, top, plot_w, plot_h = 80, 90, 560, 360
    height = top + plot_h + 90
    canvas = _Canvas(960, height, f"{_t('targets', lang)} — {body.model_name}", lang)
    canvas.text(24, 34, _t("targets", lang), size=20, weight="bold")
    canvas.text(24, 58, f"{body.model_name} · {_day(body.from_, lang)} → {_day(body.to, lang)}")
    for tick in range(0, 101, 20):
        y = top + plot_h - tick / 100 * plot_h
        canvas.shape(
            "line", x1=str(left), x2=str(left + plot_w), y1=f"{y}", y2=f"{y}", stroke="#ddd"
        )
        canvas.text(
            left - 8,
            y + 4,
            _percent(tick / 100, lang).replace(",0", "").replace(".0", ""),
            anchor="end",
            size=11,
        )
    count = len(body.points)
    step = plot_w / max(count - 1, 1)

    def x_of(i: int) -> float:
        return left + i * step if count > 1 else left + plot_w / 2

    label_every = max(1, -(-count // 7))  # at most seven dates, so they never overlap
    for i, point in enumerate(body.points):
        if i % label_every == 0:
            canvas.text(x_of(i), top + plot_h + 18, _day(point.at, lang), anchor="middle", size=10)
    targets = {t.code: t.share for t in body.targets}
    legend_y = top + 10
    for code in codes:
        colour = COLOURS[(code - 1) % len(COLOURS)]
        runs: list[list[str]] = [[]]
        for i, point in enumerate(body.points):
            segment = next(s for s in point.segments if s.code == code)
            if segment.share is None:
                runs.append([])
                continue
            x, y = x_of(i), top + plot_h - segment.share * plot_h
            runs[-1].append(f"{x:.1f},{y:.1f}")
            canvas.shape(
                "circle",
                cx=f"{x:.1f}",
                cy=f"{y:.1f}",
                r="3",
                fill=colour,
                **{
                    "class": "point",
                    "data_code": str(code),
                    "data_at": point.at.isoformat(),
                    "data_share": str(segment.share),
                    "data_count": "" if segment.count is None else str(segment.count),
                },
            )
        for run in runs:
            if len(run) > 1:
                canvas.shape(
                    "polyline", points=" ".join(run), fill="none", stroke=colour, stroke_width="2.5"
                )
        if code in targets:
            y = top + plot_h - targets[code] * plot_h
            canvas.shape(
                "line",
                x1=str(left),
                x2=str(left + plot_w),
                y1=f"{y:.1f}",
                y2=f"{y:.1f}",
                stroke=colour,
                stroke_width="2",
                stroke_dasharray="8 5",
                **{"class": "target", "data_code": str(code), "data_share": str(targets[code])},
            )
        canvas.shape(
            "rect", x=str(left + plot_w + 24), y=f"{legend_y}", width="14", height="14", fill=colour
        )
        for line in textwrap.wrap(names[code], 30) or [""]:
            canvas.text(left + plot_w + 44, legend_y + 12, line, size=12)
            legend_y += 16
        if code in targets:
            canvas.text(
                left + plot_w + 44,
                legend_y + 12,
                f"- - {_t('target', lang)} {_percent(targets[code], lang)}",
                size=11,
                fill=colour,
            )
            legend_y += 16
        legend_y += 14
    canvas.text(24, height - 14, _t("withheld", lang), size=11, fill="#555")
    return canvas.svg()
