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
OBSERVATION_CODE = "client-segment"
OBSERVATION_DISPLAY = "Asiakkuussegmentti"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
CONSENT_LOINC = "59284-0"
CONSENT_LOINC_DISPLAY = "Consent"
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


def ndjson_shape(f: Mapping[str, Any]) -> dict[str, Any]:
    """An NDJSON record from its fields, already written as they appear (times as text)."""
    return {
        "client_id": f["client_id"],
        "hetu": f["hetu"],
        "segment_code": f["segment_code"],
        "segment_key": f["segment_key"],
        "effective_at": f["effective_at"],
        "recorded_at": f["recorded_at"],
        "recorded_by": f["recorded_by"],
        "model": f["model"],
        "model_version": f["model_version"],
        "assessment_id": f["assessment_id"],
        "status": f["status"],
        "source": f["source"],
    }


def ndjson_row(record: Mapping[str, Any], hetu: str | None) -> str:
    fields = {
        **record,
        "client_id": str(record["client_id"]),
        "hetu": hetu,
        "effective_at": utc(record["effective_at"]),
        "recorded_at": utc(record["recorded_at"]),
        "assessment_id": str(record["assessment_id"]),
    }
    return ndjson(ndjson_shape(fields))


def _patient(client_id: str, hetu: str | None) -> dict[str, Any]:
    patient: dict[str, Any] = {"reference": f"Patient/{client_id}"}
    if hetu is not None:
        # As the Finnish Base Profiles name the personal identity code.
        patient["identifier"] = {"system": HETU_OID, "value": hetu}
    return patient


def observation_shape(f: Mapping[str, Any]) -> dict[str, Any]:
    """A decision as an FHIR R4 Observation, from its fields written as text: the segment by
    its register number. (app/exports/render.py fills the same shape in SQL.)"""
    return {
        "resourceType": "Observation",
        "id": f["assessment_id"],
        # Whether the decision was made here or imported from the register.
        "meta": {"tag": [{"system": SOURCE_SYSTEM, "code": f["source"]}]},
        "status": f["status"],
        "code": {
            "coding": [
                {
                    "system": OBSERVATION_CODE_SYSTEM,
                    "code": OBSERVATION_CODE,
                    "display": OBSERVATION_DISPLAY,
                }
            ]
        },
        "subject": _patient(f["client_id"], f["hetu"]),
        "effectiveDateTime": f["effective_at"],
        "issued": f["recorded_at"],
        "performer": [{"identifier": {"value": f["recorded_by"]}}],
        "valueCodeableConcept": {
            "coding": [
                {"system": SEGMENT_SYSTEM, "code": f["segment_code"], "display": f["name_fi"]}
            ],
            "text": f["name_fi"],
        },
        "method": {
            "coding": [
                {
                    "system": MODEL_SYSTEM,
                    "code": f"{f['model']}|{f['model_version']}",
                    "display": f"{f['model']} {f['model_version']}",
                }
            ]
        },
    }


def observation(record: Mapping[str, Any], hetu: str | None, name_fi: str) -> dict[str, Any]:
    return observation_shape(
        {
            **record,
            "assessment_id": str(record["assessment_id"]),
            "status": "final" if record["status"] == "active" else "entered-in-error",
            "client_id": str(record["client_id"]),
            "hetu": hetu,
            "effective_at": utc(record["effective_at"]),
            "recorded_at": utc(record["recorded_at"]),
            "segment_code": str(record["segment_code"]),
            "name_fi": name_fi,
        }
    )


def consent_shape(f: Mapping[str, Any]) -> dict[str, Any]:
    """A client's health-register consent as an FHIR R4 Consent: active while given."""
    return {
        "resourceType": "Consent",
        "id": f["id"],
        "status": f["status"],
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [
            {"coding": [{"system": LOINC, "code": CONSENT_LOINC, "display": CONSENT_LOINC_DISPLAY}]}
        ],
        "patient": _patient(f["client_id"], f["hetu"]),
        "dateTime": f["at"],
        "policyRule": {"text": CONSENT_POLICY},
        "provision": {"type": f["provision"]},
    }


def consent(event: Mapping[str, Any], hetu: str | None) -> dict[str, Any]:
    return consent_shape(
        {
            "id": str(event["id"]),
            "status": "active" if event["given"] else "inactive",
            "client_id": str(event["client_id"]),
            "hetu": hetu,
            "at": utc(event["at"]),
            "provision": "permit" if event["given"] else "deny",
        }
    )


def ndjson(resource: Mapping[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"
