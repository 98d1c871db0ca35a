"""`segmentti`: serve, mint a development token, make keys, rotate keys, fill birth dates,
write openapi.json."""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from app.auth import SCOPES, mint_token
from app.config import Settings, explain, get_settings
from app.keys import KeyConfigurationError, generate, resolve_keys
from app.segmentation.catalog import ModelFileError


async def _preflight(settings: Settings) -> None:
    """What would stop the app at start, checked first so that it is said in one line."""
    from app.main import load_runtime
    from app.runtime import check_keys

    runtime = load_runtime(settings)
    try:
        await check_keys(runtime, at_start=True)
    finally:
        await runtime.database.dispose()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    asyncio.run(_preflight(settings))
    from app.protocol import ProblemHttpToolsProtocol

    uvicorn.run(
        "app.main:app",
        http=ProblemHttpToolsProtocol,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # The address in the service's log line is the caller's, through a trusted proxy only.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        access_log=False,
        log_level=settings.log_level.lower(),
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = get_settings()
    keys = resolve_keys(settings)
    if keys.jwt_secret is None:
        print(
            "Tokens are verified with a public key here; mint them with your identity provider.",
            file=sys.stderr,
        )
        return 2
    scopes = args.scope or list(SCOPES)
    print(
        mint_token(
            keys.jwt_secret,
            sub=args.sub,
            org=args.org,
            scopes=scopes,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0


def _generate_keys(args: argparse.Namespace) -> int:
    keys = generate()
    for name in ("jwt_secret", "data_key", "index_key"):
        print(f"SEGMENTTI_{name.upper()}={keys[name]}")
    return 0


async def _rotate(settings: Settings, batch_size: int) -> int:
    from app.clients.identity import IdentityProtector
    from app.db import Database, create_engine

    keys = resolve_keys(settings)
    if len(keys.data_keys) < 2 and len(keys.index_keys) < 2:
        print(
            "Set SEGMENTTI_PREVIOUS_DATA_KEY and/or SEGMENTTI_PREVIOUS_INDEX_KEY to the keys being "
            "replaced, and SEGMENTTI_DATA_KEY / SEGMENTTI_INDEX_KEY to the new ones.",
            file=sys.stderr,
        )
        return 2
    database = Database(create_engine(settings.database_url))
    try:
        progress = await _rotating(
            database,
            IdentityProtector(keys.data_keys, keys.index_keys),
            batch_size=batch_size,
            report=lambda p: print(
                f"{p.clients} clients: {p.reencrypted} re-encrypted, {p.reindexed} re-indexed",
                flush=True,
            ),
        )
    finally:
        await database.dispose()
    print(
        f"done: every client is under the new keys ({progress.clients} examined). Remove the "
        "SEGMENTTI_PREVIOUS_* variables and restart the instances."
    )
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


async def _rotating(*args: Any, **kwargs: Any) -> Any:
    from app.clients.rotation import rotate

    try:
        return await rotate(*args, **kwargs)
    except sa.exc.IntegrityError:
        raise KeyConfigurationError(
            "two clients of one tenant are the same person under the old and the new keys "
            "(an instance wrote with keys of its own during the rotation?); nothing of the "
            "batch was changed. Find them with the old keys before running this again."
        ) from None


def _rotate_keys(args: argparse.Namespace) -> int:
    return asyncio.run(_rotate(get_settings(), args.batch_size))


async def _backfill(settings: Settings, batch_size: int) -> int:
    from app.clients.birth_dates import backfill
    from app.clients.identity import IdentityProtector
    from app.db import Database, create_engine

    await _preflight(settings)  # the keys must be the database's, or nothing decrypts
    keys = resolve_keys(settings)
    database = Database(create_engine(settings.database_url))
    try:
        filled = await backfill(
            database,
            IdentityProtector(keys.data_keys, keys.index_keys),
            batch_size=batch_size,
            report=lambda n: print(f"{n} birth dates filled", flush=True),
        )
    finally:
        await database.dispose()
    print(f"done: {filled} birth dates filled; every client with an identity code has one.")
    return 0


def _backfill_birth_dates(args: argparse.Namespace) -> int:
    return asyncio.run(_backfill(get_settings(), args.batch_size))


def openapi_document() -> str:
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def _openapi(args: argparse.Namespace) -> int:
    Path(args.output).write_text(openapi_document(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="segmentti")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the service (SEGMENTTI_HOST, _PORT, _WORKERS; see README)"
    )
    serve.set_defaults(run=_serve)
    token = commands.add_parser("token", help="mint an HS256 token for the configured secret")
    token.add_argument("--org", required=True, help="tenant, e.g. helsinki")
    token.add_argument("--sub", required=True, help="the professional, e.g. nurse@example")
    token.add_argument(
        "--scope", action="append", choices=SCOPES, help="repeat for several; default: all scopes"
    )
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    token.set_defaults(run=_token)
    keys = commands.add_parser("generate-keys", help="print new keys as environment variables")
    keys.set_defaults(run=_generate_keys)
    rotate = commands.add_parser(
        "rotate-keys", help="move every client to the new keys, in batches (README)"
    )
    rotate.add_argument("--batch-size", type=_positive, default=1000)
    rotate.set_defaults(run=_rotate_keys)
    births = commands.add_parser(
        "backfill-birth-dates",
        help="fill the birth date of clients stored before the schema kept it (README)",
    )
    births.add_argument("--batch-size", type=_positive, default=1000)
    births.set_defaults(run=_backfill_birth_dates)
    openapi = commands.add_parser("openapi", help="write the OpenAPI document the app serves")
    openapi.add_argument("--output", default="openapi.json")
    openapi.set_defaults(run=_openapi)
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except KeyConfigurationError as exc:
        print(f"segmentti: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"segmentti: {explain(exc)}", file=sys.stderr)
        return 2
    except ModelFileError as exc:  # the tenants file too
        print(f"segmentti: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
