"""`segmentti`: project commands — mint a development token, write openapi.json."""

import argparse
import json
import sys
from pathlib import Path

from app.auth import SCOPES, mint_token
from app.config import get_settings
from app.keys import resolve_keys


def _token(args: argparse.Namespace) -> int:
    keys = resolve_keys(get_settings())
    if keys.jwt_secret is None:
        print(
            "Tokens are verified with a public key here; mint them with your identity provider.",
            file=sys.stderr,
        )
        return 2
    scopes = args.scope or list(SCOPES)
    print(
        mint_token(keys.jwt_secret, sub=args.sub, org=args.org, scopes=scopes, ttl_seconds=args.ttl)
    )
    return 0


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
    token = commands.add_parser("token", help="mint an HS256 token for the configured secret")
    token.add_argument("--org", required=True, help="tenant, e.g. helsinki")
    token.add_argument("--sub", required=True, help="the professional, e.g. nurse@example")
    token.add_argument(
        "--scope", action="append", choices=SCOPES, help="repeat for several; default: all scopes"
    )
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    token.set_defaults(run=_token)
    openapi = commands.add_parser("openapi", help="write the OpenAPI document the app serves")
    openapi.add_argument("--output", default="openapi.json")
    openapi.set_defaults(run=_openapi)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
