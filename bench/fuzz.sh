#!/usr/bin/env bash
# Fuzz the running API with schemathesis against openapi.json: every operation, generated
# bodies and parameters both valid and invalid (`--mode all`: negative data must be refused
# with a 4xx), all checks (no 5xx, responses match the schema, problem+json, …).
# `positive_data_acceptance` is left out: `answers` is free-form in the schema (what it takes
# depends on the model), so schema-valid answers are often, rightly, refused with 422.
# Starts its own service on SQLite in a temporary folder, on 127.0.0.1 only; stops by itself.
#   bash bench/fuzz.sh [EXAMPLES_PER_OPERATION]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-50}"
work=$(mktemp -d)
port=8799
export SEGMENTTI_DATABASE_URL="sqlite:///$work/fuzz.db"
export SEGMENTTI_DEV_SECRETS_FILE="$work/secrets.json"
# The project's .venv (README) when there is one, else whatever is on PATH.
bin=""; [ -x .venv/bin/python ] && bin=".venv/bin/"
"${bin}python3" -m pip install -q 'schemathesis>=4' >/dev/null
"${bin}alembic" upgrade head >/dev/null 2>&1
SEGMENTTI_PORT="$port" SEGMENTTI_LOG_LEVEL=WARNING "${bin}segmentti" serve &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
token=$("${bin}segmentti" token --org helsinki --sub fuzzer 2>/dev/null)
"${bin}schemathesis" run "http://127.0.0.1:$port/openapi.json" -H "Authorization: Bearer $token" \
  -n "$examples" --seed 42 --mode all --checks all --max-failures 20 \
  --exclude-checks positive_data_acceptance "${@:2}"
