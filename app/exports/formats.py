"""An export record written as CSV, NDJSON or FHIR R4 — pure functions, one record at a time.

Times are RFC 3339 in UTC with microseconds and `Z`, in every format and on both databases
(PostgreSQL's COPY writes them the same way, app/exports/stream.py).
"""

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.identity_codes import HETU_OID

CSV_HEADER = (
    "client_id",
    "hetu",
    "segment_code",
    "segment_key",
    "effective_at",
    "recorded_at",
    "recorded_by",
    "model",
    "model_version",
    "assessment_id",
    "status",
)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same format for PostgreSQL's to_char (its "US" is microseconds).
SQL_TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'

# Our own FHIR code systems (canonical URLs of the service's FHIR definitions).
FHIR_BASE = "https://segmentti.fi/fhir"
OBSERVATION_CODE_SYSTEM = f"{FHIR_BASE}/CodeSystem/observation-type"
SEGMENT_SYSTEM = f"{FHIR_BASE}/CodeSystem/health-register-segment"
MODEL_SYSTEM = f"{FHIR_BASE}/CodeSystem/segmentation-model"
SOURCE_SYSTEM = f"{FHIR_BASE}/CodeSystem/record-source"
CONSENT_POLICY = (
    "Asiakkuussegmentin kirjaaminen terveydenhuollon rekisteriin asiakkaan suostumuksella "
    "(recording the client segment in the health care register with the client's consent)"
)


def utc(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def csv_row(record: Mapping[str, Any], hetu: str | None) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [
            record["client_id"],
            hetu or "",
            record["segment_code"],
            record["segment_key"],
            utc(record["effective_at"]),
            utc(record["recorded_at"]),
            record["recorded_by"],
            record["model"],
            record["model_version"],
            record["assessment_id"],
            record["status"],
        ]
    )
    return out.getvalue()


def csv_header() -> str:
    return ",".join(CSV_HEADER) + "\n"


def ndjson_row(record: Mapping[str, Any], hetu: str | None) -> str:
    return (
        json.dumps(
            {
                "client_id": str(record["client_id"]),
                "hetu": hetu,
                "segment_code": record["segment_code"],
                "segment_key": record["segment_key"],
                "effective_at": utc(record["effective_at"]),
                "recorded_at": utc(record["recorded_at"]),
                "recorded_by": record["recorded_by"],
                "model": record["model"],
                "model_version": record["model_version"],
                "assessment_id": str(record["assessment_id"]),
                "status": record["status"],
                "source": record["source"],
            },
            ensure_ascii=False,
        )
        + "\n"
    )


def _patient(client_id: object, hetu: str | None) -> dict[str, Any]:
    patient: dict[str, Any] = {"reference": f"Patient/{client_id}"}
    if hetu is not None:
        # As the Finnish Base Profiles name the personal identity code.
        patient["identifier"] = {"system": HETU_OID, "value": hetu}
    return patient


def observation(record: Mapping[str, Any], hetu: str | None, name_fi: str) -> dict[str, Any]:
    """A decision as an FHIR R4 Observation: the segment by its register number."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(record["assessment_id"]),
        "status": "final" if record["status"] == "active" else "entered-in-error",
        "code": {
            "coding": [
                {
                    "system": OBSERVATION_CODE_SYSTEM,
                    "code": "client-segment",
                    "display": "Asiakkuussegmentti",
                }
            ]
        },
        "subject": _patient(record["client_id"], hetu),
        "effectiveDateTime": utc(record["effective_at"]),
        "issued": utc(record["recorded_at"]),
        "performer": [{"identifier": {"value": record["recorded_by"]}}],
        "valueCodeableConcept": {
            "coding": [
                {"system": SEGMENT_SYSTEM, "code": str(record["segment_code"]), "display": name_fi}
            ],
            "text": name_fi,
        },
        "method": {
            "coding": [
                {
                    "system": MODEL_SYSTEM,
                    "code": f"{record['model']}|{record['model_version']}",
                    "display": f"{record['model']} {record['model_version']}",
                }
            ]
        },
    }
    if record["source"] == "import":
        resource["meta"] = {"tag": [{"system": SOURCE_SYSTEM, "code": "import"}]}
    return resource


def consent(event: Mapping[str, Any], hetu: str | None) -> dict[str, Any]:
    """A client's health-register consent as an FHIR R4 Consent: active while given."""
    return {
        "resourceType": "Consent",
        "id": str(event["id"]),
        "status": "active" if event["given"] else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Consent"}]}
        ],
        "patient": _patient(event["client_id"], hetu),
        "dateTime": utc(event["at"]),
        "policyRule": {"text": CONSENT_POLICY},
        "provision": {"type": "permit" if event["given"] else "deny"},
    }


def ndjson(resource: Mapping[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"
