"""What an operator meets when the configuration is wrong or the world moved under an instance:
weak or malformed keys are refused in one line naming the variable (the process too), an
identity provider that cannot be reached is a 503, tokens are held to the configured issuer
and audience, texts say their language, only the writes that declare it take an
Idempotency-Key, a rotation batch is at least one client, and an instance left behind by a key
rotation says so instead of answering a wrong 404."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.auth import SCOPES, TokenVerifier
from app.cli import main as segmentti
from app.clients.identity import IdentityProtector
from app.clients.rotation import rotate
from app.config import get_settings
from app.db import Database, create_engine
from app.keys import KeyConfigurationError, resolve_keys
from tests.conftest import (
    DATA_KEY,
    INDEX_KEY,
    JWT_SECRET,
    ROOT,
    Auth,
    Serve,
    TestDatabase,
    build_app,
    fresh_postgres_database,
    make_settings,
    migrate,
)
from tests.helpers import helsinki_assessment
from tests.processes import free_port
from tests.test_keys import NEW_DATA_KEY, NEW_INDEX_KEY, PEOPLE, app_with, lookup, rotate_now

SHORT = "x" * 31  # one character short of the 32 a guessable key is refused under
ISSUER = "https://idp.hel.example"
AUDIENCE = "segmentti"


def rsa_public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# -- Keys too short or of the wrong kind: one line, naming the variable, never the key -------


@pytest.mark.parametrize(
    ("variable", "setting", "value"),
    [
        ("SEGMENTTI_INDEX_KEY", "index_key", SHORT),
        ("SEGMENTTI_JWT_SECRET", "jwt_secret", SHORT),
        ("SEGMENTTI_PREVIOUS_INDEX_KEY", "previous_index_key", SHORT),
        ("SEGMENTTI_DATA_KEY", "data_key", "a-passphrase-someone-typed-in-by-hand-0123"),
    ],
)
def test_a_weak_or_malformed_key_is_refused_naming_its_variable(
    tmp_path: Path, variable: str, setting: str, value: str
) -> None:
    with pytest.raises(KeyConfigurationError) as refused:
        resolve_keys(make_settings(tmp_path, **{setting: value}))
    message = str(refused.value)
    assert message.startswith(variable) and "\n" not in message
    assert value not in message


def test_keys_of_exactly_32_characters_are_accepted(tmp_path: Path) -> None:
    keys = resolve_keys(make_settings(tmp_path, index_key="i" * 32, jwt_secret="s" * 32))
    assert keys.index_keys == ("i" * 32,) and keys.jwt_secret == "s" * 32


def test_a_public_key_that_is_not_pem_is_refused_naming_its_variable(tmp_path: Path) -> None:
    garbled = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"
    settings = make_settings(tmp_path, jwt_secret=None, jwt_public_key=garbled)
    with pytest.raises(KeyConfigurationError, match=r"^SEGMENTTI_JWT_PUBLIC_KEY is not a PEM"):
        TokenVerifier(settings, None)
    TokenVerifier(make_settings(tmp_path, jwt_secret=None, jwt_public_key=rsa_public_pem()), None)


def run_cli(tmp_path: Path, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`segmentti …` as an operator runs it, with the suite's keys unless `variables` say else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTTI_")}
    env.update(
        SEGMENTTI_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        SEGMENTTI_DEV_SECRETS_FILE=str(tmp_path / "dev-secrets.json"),
        SEGMENTTI_PORT=str(free_port()),
        SEGMENTTI_JWT_SECRET=JWT_SECRET,
        SEGMENTTI_DATA_KEY=DATA_KEY,
        SEGMENTTI_INDEX_KEY=INDEX_KEY,
    )
    env.update(variables)
    for name in [name for name, value in env.items() if value == ""]:
        del env[name]
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["serve"], "SEGMENTTI_INDEX_KEY", SHORT),
        (["token", "--org", "helsinki", "--sub", "nurse"], "SEGMENTTI_JWT_SECRET", SHORT),
        (["serve"], "SEGMENTTI_DATA_KEY", "not-a-fernet-key-but-long-enough-0123456789"),
        (["serve"], "SEGMENTTI_JWT_PUBLIC_KEY", "ssh-rsa AAAAB3NzaC1yc2E not-pem"),
    ],
    ids=["serve-short-index-key", "token-short-secret", "serve-not-fernet", "serve-not-pem"],
)
def test_the_process_exits_2_with_one_line_naming_the_variable(
    tmp_path: Path, command: list[str], variable: str, value: str
) -> None:
    overrides = {variable: value}
    if variable == "SEGMENTTI_JWT_PUBLIC_KEY":
        overrides["SEGMENTTI_JWT_SECRET"] = ""  # the public key is the only token key
    result = run_cli(tmp_path, *command, **overrides)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"segmentti: {variable} ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert value not in result.stderr and result.stdout == ""


# -- Tokens: an identity provider that cannot be reached, the issuer and the audience --------


def test_an_unreachable_jwks_is_a_503_with_retry_after_not_a_401(
    tmp_path: Path, database: TestDatabase, served: Serve
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"  # nothing listens there
    settings = make_settings(tmp_path, jwt_secret=None, jwks_url=closed)
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"sub": "nurse", "org": "helsinki", "scope": "models:read", "exp": time.time() + 60},
        signing,
        algorithm="RS256",
        headers={"kid": "idp-2026"},
    )
    with served(build_app(settings, database)) as client:
        response = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert "signing keys" in response.json()["detail"]


@pytest.fixture
def held_to_issuer(tmp_path: Path, database: TestDatabase, served: Serve) -> Iterator[TestClient]:
    """The service configured with SEGMENTTI_JWT_ISSUER and SEGMENTTI_JWT_AUDIENCE."""
    settings = make_settings(tmp_path, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    with served(build_app(settings, database)) as client:
        yield client


def bearer(**claims: object) -> dict[str, str]:
    payload = {
        "sub": "nurse",
        "org": "helsinki",
        "scope": " ".join(SCOPES),
        "exp": int(time.time()) + 60,
        **claims,
    }
    token = jwt.encode({k: v for k, v in payload.items() if v is not None}, JWT_SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"iss": ISSUER, "aud": AUDIENCE}, 200),
        ({"iss": "https://idp.other.example", "aud": AUDIENCE}, 401),
        ({"iss": None, "aud": AUDIENCE}, 401),
        ({"iss": ISSUER, "aud": "another-service"}, 401),
        ({"iss": ISSUER, "aud": None}, 401),
    ],
    ids=["right", "wrong-issuer", "no-issuer", "wrong-audience", "no-audience"],
)
def test_tokens_must_name_the_configured_issuer_and_audience(
    held_to_issuer: TestClient, claims: dict[str, object], status: int
) -> None:
    response = held_to_issuer.get("/v1/models", headers=bearer(**claims))
    assert response.status_code == status, response.text


@pytest.fixture
def operator_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SEGMENTTI_* as an operator sets them, read by the CLI's own `get_settings()`."""
    for name in [name for name in os.environ if name.startswith("SEGMENTTI_")]:
        monkeypatch.delenv(name)
    variables = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "DEV_SECRETS_FILE": str(tmp_path / "dev-secrets.json"),
        "JWT_SECRET": JWT_SECRET,
        "DATA_KEY": DATA_KEY,
        "INDEX_KEY": INDEX_KEY,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    }
    for name, value in variables.items():
        monkeypatch.setenv(f"SEGMENTTI_{name}", value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_segmentti_token_mints_what_a_service_held_to_its_issuer_accepts(
    operator_environment: None, held_to_issuer: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert segmentti(["token", "--org", "helsinki", "--sub", "nurse"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, JWT_SECRET, ["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    response = held_to_issuer.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


# -- Languages ---------------------------------------------------------------------------------


def test_a_text_in_a_language_says_which_and_that_it_varies_by_accept_language(
    client: TestClient, auth: Auth
) -> None:
    swedish = client.post(
        "/v1/classify",
        json={"model": "helsinki-2023", "answers": {"coping": "easy", "risk_level": "few"}},
        headers=auth(**{"Accept-Language": "sv"}),
    )
    assert swedish.status_code == 200, swedish.text
    assert swedish.json()["suggested_segment"]["name"] == "Egenvårdsklient"
    assert swedish.headers["content-language"] == "sv"
    assert swedish.headers["vary"] == "Accept-Language"

    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
    assert created.headers["content-language"] == "fi"  # Finnish when the caller asks none
    segment = client.get(
        f"/v1/clients/{created.json()['client_id']}/segment",
        headers=auth(**{"Accept-Language": "en-GB, fi;q=0.5"}),
    )
    assert segment.headers["content-language"] == "en"
    assert segment.headers["vary"] == "Accept-Language"


def test_a_response_with_no_language_or_all_of_them_claims_none(
    client: TestClient, auth: Auth
) -> None:
    swedish = auth(**{"Accept-Language": "sv"})
    health = client.get("/healthz", headers={"Accept-Language": "sv"})
    model = client.get("/v1/models/helsinki-2023", headers=swedish)  # fi, sv and en at once
    assert model.status_code == 200
    assert {"fi", "sv", "en"} <= set(model.json()["segments"][0]["names"])
    for response in (health, model):
        assert "content-language" not in response.headers
        assert "accept-language" not in response.headers.get("vary", "").lower()


# -- Idempotency-Key: only the writes that declare it ------------------------------------------


def test_a_classification_with_an_idempotency_key_is_computed_each_time_and_not_stored(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    headers = auth(**{"Idempotency-Key": "apotti-classify-1"})
    answers = [
        {"coping": "easy", "risk_level": "few"},
        {"coping": "difficult", "risk_level": "many"},
    ]
    segments = []
    for given in answers:
        body = {"model": "helsinki-2023", "answers": given}
        response = client.post("/v1/classify", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert "idempotent-replayed" not in response.headers
        segments.append(response.json()["suggested_segment"]["code"])
    assert segments[0] != segments[1]  # the second answer is its own, not the first replayed
    assert database.count("idempotency_record") == 0


def test_a_lookup_with_an_idempotency_key_finds_each_person_it_is_asked_for(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    people = ["131052-308T", PEOPLE[0]]
    registered = [
        client.post(
            "/v1/assessments", json=helsinki_assessment(client={"hetu": p}), headers=auth()
        ).json()["client_id"]
        for p in people
    ]
    headers = auth(**{"Idempotency-Key": "apotti-lookup-1"})
    found = [
        client.post("/v1/clients/lookup", json={"hetu": p}, headers=headers).json()["client_id"]
        for p in people
    ]
    assert found == registered
    assert database.count("idempotency_record") == 0


def test_a_submission_with_an_idempotency_key_is_still_stored_and_replayed(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    headers = auth(**{"Idempotency-Key": "apotti-submit-1"})
    first = client.post("/v1/assessments", json=helsinki_assessment(), headers=headers)
    again = client.post("/v1/assessments", json=helsinki_assessment(), headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert database.count("idempotency_record") == 1


# -- Key rotation: batches of at least one, and the instance left behind -----------------------


@pytest.fixture
def url(backend: str, tmp_path: Path) -> str:
    database = (
        f"sqlite:///{tmp_path / 'keys.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("safeguards")
    )
    migrate(database)
    return database


@pytest.fixture
def old_instance(tmp_path: Path, url: str, auth: Auth) -> Iterator[TestClient]:
    """An instance with the database's first keys, which has registered PEOPLE."""
    with TestClient(app_with(tmp_path, url), raise_server_exceptions=False) as client:
        for person in PEOPLE:
            body = helsinki_assessment(client={"hetu": person})
            assert client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
        yield client


def test_a_rotation_in_batches_of_no_clients_is_refused_before_it_changes_anything(
    old_instance: TestClient, url: str, auth: Auth
) -> None:
    protector = IdentityProtector([NEW_DATA_KEY, DATA_KEY], [NEW_INDEX_KEY, INDEX_KEY])

    async def rotate_in_empty_batches() -> None:
        database = Database(create_engine(url))
        try:
            await rotate(database, protector, batch_size=0)
        finally:
            await database.dispose()

    with pytest.raises(ValueError, match="at least one client"):
        asyncio.run(rotate_in_empty_batches())
    # The database's keys are still the old instance's: it is ready and finds everyone.
    assert old_instance.get("/readyz").status_code == 200
    assert all(lookup(old_instance, auth, person) == 200 for person in PEOPLE)


def test_the_rotation_command_refuses_a_batch_size_under_1(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "rotate-keys",
        "--batch-size",
        "0",
        SEGMENTTI_DATA_KEY=NEW_DATA_KEY,
        SEGMENTTI_INDEX_KEY=NEW_INDEX_KEY,
        SEGMENTTI_PREVIOUS_DATA_KEY=DATA_KEY,
        SEGMENTTI_PREVIOUS_INDEX_KEY=INDEX_KEY,
    )
    assert result.returncode == 2, result.stderr
    assert "--batch-size: must be at least 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_instance_left_behind_by_a_rotation_says_its_keys_do_not_match(
    old_instance: TestClient, tmp_path: Path, url: str, auth: Auth
) -> None:
    rotate_now(url, batch_size=2)  # every client moves to the new keys; the old ones retire

    ready = old_instance.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "keys do not match"
    assert "retry-after" in ready.headers

    # A registered person is not "not found": the instance cannot know, and says so.
    refused = old_instance.post("/v1/clients/lookup", json={"hetu": PEOPLE[0]}, headers=auth())
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "retry-after" in refused.headers
    assert "key rotation" in refused.json()["detail"]

    with TestClient(
        app_with(tmp_path, url, data_key=NEW_DATA_KEY, index_key=NEW_INDEX_KEY)
    ) as current:
        assert current.get("/readyz").status_code == 200
        assert all(lookup(current, auth, person) == 200 for person in PEOPLE)
