"""Every figure answers as an SVG chart of the same numbers, in the request's language."""

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from tests.analytics.conftest import Place
from tests.conftest import Auth

NS = "{http://www.w3.org/2000/svg}"
JAN, MAR = "2025-01-10T09:00:00+02:00", "2025-03-10T09:00:00+02:00"
PERIOD = {"from": "2025-02-01T00:00:00Z", "to": "2025-07-01T00:00:00Z"}


def svg(client: TestClient, auth: Auth, url: str, params: dict, lang: str, org: str = "helsinki"):
    headers = auth(org=org, **{"Accept": "image/svg+xml", "Accept-Language": lang})
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["content-language"] == lang
    assert response.headers["vary"] == "Accept, Accept-Language"  # caches keep them apart
    as_json = client.get(url, params=params, headers=auth(org=org, **{"Accept-Language": lang}))
    return ET.fromstring(response.text), as_json.json()  # noqa: S314 (our own output)


def marks(root: ET.Element, kind: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{kind}") if e.get("class") == cls]


def number(value: str | None) -> int | None:
    return int(value) if value else None


def test_the_distribution_chart_shows_the_json_figures_with_segment_names_in_swedish(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 6)), 1, JAN)
    place(list(range(6, 9)), 2, JAN)
    root, body = svg(client, auth, "/v1/analytics/segment-distribution", {}, "sv")
    shown = {
        int(e.get("data-code", "")): number(e.get("data-count"))
        for e in marks(root, "text", "count")
    }
    assert (
        shown
        == {s["code"]: s["count"] for s in body["segments"]}
        == {1: 6, 2: None, 3: None, 4: None}
    )
    texts = " ".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert "Klienter per segment" in texts
    assert all(s["name"] in texts for s in body["segments"])
    assert number(marks(root, "text", "total")[0].get("data-count")) == body["total"] == 9


def test_the_transition_matrix_chart_holds_every_cell_of_the_json(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 12)), 1, JAN)
    place(list(range(0, 6)), 2, MAR)
    root, body = svg(client, auth, "/v1/analytics/transitions", PERIOD, "en")
    drawn = {
        (number(e.get("data-from")), number(e.get("data-to"))): number(e.get("data-count"))
        for e in marks(root, "text", "count")
    }
    assert drawn == {(r["from_code"], r["to_code"]): r["count"] for r in body["rows"]}
    assert drawn[(1, 2)] == 6
    assert "Moves between segments" in " ".join(t.text or "" for t in root.iter(f"{NS}text"))


def test_the_target_chart_draws_each_share_and_the_target_line(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 6)), 1, JAN, org="kymenlaakso")
    root, body = svg(client, auth, "/v1/analytics/targets", PERIOD, "fi", org="kymenlaakso")
    points = marks(root, "circle", "point")
    expected = [
        (p["at"], s["code"], s["share"])
        for p in body["points"]
        for s in p["segments"]
        if s["share"] is not None
    ]
    drawn = [
        (e.get("data-at"), int(e.get("data-code", "")), float(e.get("data-share", "")))
        for e in points
    ]
    assert len(drawn) == len(expected) == 6  # Feb to Jul, both ends
    assert [(code, share) for _, code, share in drawn] == [(c, s) for _, c, s in expected]
    target = marks(root, "line", "target")
    assert [(t.get("data-code"), t.get("data-share")) for t in target] == [("1", "0.8")]
    assert "tavoite" in " ".join(t.text or "" for t in root.iter(f"{NS}text"))


def test_a_county_wording_with_markup_is_escaped_in_the_chart(
    client: TestClient, auth: Auth, place: Place
) -> None:
    """Segment names come from files a county edits; the chart must stay well-formed."""
    from app.analytics import charts
    from app.analytics.schemas import SegmentCount, SegmentDistribution

    body = SegmentDistribution(
        model="m",
        model_name="<script>&",
        at="2025-01-01T00:00:00Z",
        total=10,  # type: ignore[arg-type]
        segments=[SegmentCount(code=1, key="a", name='A & <b>"', count=10, share=1.0)],
        language="en",
    )
    root = ET.fromstring(charts.distribution(body))  # noqa: S314 (our own output)
    assert 'A & <b>"' in [t.text for t in root.iter(f"{NS}text")]
    assert not list(root.iter("script")) and not list(root.iter(f"{NS}script"))


def test_json_stays_the_default_and_wins_a_tie(client: TestClient, auth: Auth) -> None:
    url = "/v1/analytics/segment-distribution"
    for accept in ("*/*", "application/json, image/svg+xml", "image/svg+xml;q=0.5, */*"):
        response = client.get(url, headers=auth(Accept=accept))
        assert response.headers["content-type"].startswith("application/json"), accept
        assert response.headers["vary"] == "Accept, Accept-Language"
