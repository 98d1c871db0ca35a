"""The model catalog over HTTP: what Helsinki's model asks and what each segment means."""

from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import HELSINKI_ASPECTS


def test_the_helsinki_model_describes_its_answers_and_segments(
    client: TestClient, auth: Auth
) -> None:
    response = client.get("/v1/models/helsinki-2023", headers=auth())
    assert response.status_code == 200
    model = response.json()
    assert (model["id"], model["register"], model["rule"]) == ("helsinki-2023", "health", "grid")
    answers = {a["name"]: a for a in model["answers"]}
    assert [v["value"] for v in answers["coping"]["values"]] == ["easy", "difficult"]
    assert [v["value"] for v in answers["risk_level"]["values"]] == ["few", "many"]
    assert answers["duration"]["required"] is False
    segments = model["segments"]
    assert [(s["code"], s["key"], s["register_code"], s["group"]) for s in segments] == [
        (1, "self_care", 1, "SPT"),
        (2, "support", 2, "SPT"),
        (3, "collaboration", 3, "PPT"),
        (4, "care", 4, "PPT"),
    ]
    assert segments[0]["names"] == {
        "fi": "Omatoimiasiakkuus",
        "sv": "Egenvårdsklient",
        "en": "Self-care client",
    }
    for segment in segments:
        assert [i["aspect"] for i in segment["implications"]] == HELSINKI_ASPECTS
        assert all(i["text"][lang] for i in segment["implications"] for lang in ("fi", "sv", "en"))
        assert all(segment["description"][lang] for lang in ("fi", "sv", "en"))
    assert segments[2]["promise"] is not None
    assert segments[3]["placed_by"] == {"coping": "difficult", "risk_level": "many"}
    assert segments[3]["reassess_after_days"] < segments[0]["reassess_after_days"]


def test_the_model_list_names_the_default(client: TestClient, auth: Auth) -> None:
    listing = client.get("/v1/models", headers=auth()).json()
    assert listing == {
        "default_model": "helsinki-2023",
        "items": [
            {
                "id": "helsinki-2023",
                "name": listing["items"][0]["name"],
                "latest_version": "2023.1",
                "register": "health",
                "default": True,
            }
        ],
    }


def test_an_unknown_model_is_404(client: TestClient, auth: Auth) -> None:
    assert client.get("/v1/models/oulu-2030", headers=auth()).status_code == 404
