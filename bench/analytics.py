"""Population figures at volume: each /v1/analytics endpoint over HTTP for a tenant of N
clients and 3 N decisions on PostgreSQL, against the same figures computed the obvious way (a
window query ranking every client's timeline, once per time asked) in the same run.

The data is made by SQL `generate_series` in a scratch database of its own (dropped at the
end): N clients (nine in ten with a birth date), each with three decisions of Helsinki's
model, about 1,000, 400 and 0–365 days ago, segments spread over the four; one latest decision
in a hundred is retracted. `segment_span` is filled as the timeline's writes keep it (the
migration's backfill). One uvicorn process on 127.0.0.1 serves; the figures are medians over
--repeat calls, the baseline's over fewer. Before timing, every endpoint's counts are checked
against the baseline's. Goal (issue 11b): each endpoint within 2 s.

    python3 bench/analytics.py [--clients 1000000] [--repeat 5]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
from support import postgres_database, service, token

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "migrations" / "versions"))
SPANS = __import__("20261124_7d3f5a9c1b20_segment_spans_for_population_figures").BACKFILL

GOAL_MS = 2000
DECISION = """INSERT INTO assessment (id, tenant, client_id, sequence, model_id, model_version,
       answers, details, suggested_code, decided_code, explanation, warnings, effective_at,
       recorded_at, recorded_by, source, change_tx)
   SELECT md5('a{k}-' || n)::uuid, 'helsinki', md5('c' || n)::uuid, {k}, 'helsinki-2023',
          '2023.1', '{{}}', '{{}}', code, code, '{{}}', '{{}}', at, at, 'bench', 'assessment', 1
   FROM (SELECT n, 1 + (n * {mult} + n / 7) %% 4 AS code,
                now() - ({days}) * interval '1 day' - (n %% 86400) * interval '1 s' AS at
         FROM generate_series(1, %(n)s) AS n) AS s"""
LOAD = [
    """INSERT INTO client (id, tenant, identity_kind, identity_index, external_system,
           external_value, created_at, created_by, last_sequence, birth_date)
       SELECT md5('c' || n)::uuid, 'helsinki', 'external', md5('i' || n), 'urn:bench',
              n::text, now(), 'bench', 3,
              CASE WHEN n %% 10 = 0 THEN NULL
                   ELSE date '1925-01-01' + ((n::bigint * 7919) %% 36000)::int END
       FROM generate_series(1, %(n)s) AS n""",
    DECISION.format(k=1, mult=3, days="1000 + n %% 60"),
    DECISION.format(k=2, mult=5, days="400 + n %% 200"),
    DECISION.format(k=3, mult=7, days="(n::bigint * 7919) %% 365"),
    """INSERT INTO retraction (id, tenant, assessment_id, reason, retracted_at, retracted_by,
           change_tx)
       SELECT md5('r' || n)::uuid, 'helsinki', md5('a3-' || n)::uuid, 'bench', now(), 'bench', 1
       FROM generate_series(1, %(n)s) AS n WHERE n %% 100 = 0""",
    SPANS,
]

# The obvious way: rank every client's active decisions up to T, keep each one's latest.
RANKED = """
    SELECT client_id, model_id, decided_code FROM (
        SELECT a.client_id, a.model_id, a.decided_code,
               row_number() OVER (PARTITION BY a.client_id
                                  ORDER BY a.effective_at DESC, a.sequence DESC) AS rank
        FROM assessment a
        WHERE a.tenant = 'helsinki' AND a.effective_at <= %(at)s
          AND NOT EXISTS (SELECT 1 FROM retraction r WHERE r.assessment_id = a.id)) AS ranked
    WHERE rank = 1 AND model_id = 'helsinki-2023'"""
# The statements are fixed text, with every value a bound parameter.
BASE_DISTRIBUTION = "SELECT decided_code, count(*) FROM (" + RANKED + ") s GROUP BY 1"  # noqa: S608
BASE_TRANSITIONS = (
    "SELECT b.decided_code, e.decided_code, count(*) FROM ("  # noqa: S608
    + RANKED.replace("%(at)s", "%(start)s")
    + ") b FULL JOIN ("
    + RANKED.replace("%(at)s", "%(end)s")
    + ") e ON b.client_id = e.client_id GROUP BY 1, 2"
)


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def load(url: str, clients: int) -> float:
    began = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        for statement in LOAD:
            connection.execute(statement, {"n": clients})  # type: ignore[arg-type]
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def month_points(start: datetime, end: datetime) -> list[datetime]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app.analytics.periods import monthly

    return monthly(start, end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=365)
    with postgres_database(args.postgres, "bench_analytics") as url, service(url, 8741) as base:
        seconds = load(url, args.clients)
        with psycopg.connect(url.replace("+psycopg", "")) as connection:
            counts = connection.execute(
                "SELECT (SELECT count(*) FROM client), (SELECT count(*) FROM assessment),"
                " (SELECT count(*) FROM retraction), (SELECT count(*) FROM segment_span)"
            ).fetchone()
        assert counts is not None
        print(
            f"loaded {counts[0]:,} clients, {counts[1]:,} decisions ({counts[2]:,} retracted),"
            f" {counts[3]:,} spans by generate_series in {seconds:.0f} s"
        )
        headers = {"Authorization": f"Bearer {token()}"}
        period = {"from": year_ago.isoformat(), "to": now.isoformat()}
        at_now, at_year_ago = {"at": now.isoformat()}, {"at": year_ago.isoformat()}
        svg = {"Accept": "image/svg+xml"}
        calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
            ("distribution at now", "segment-distribution", at_now, {}),
            ("distribution a year ago", "segment-distribution", at_year_ago, {}),
            ("distribution by age band", "segment-distribution", {**at_now, "by": "age_band"}, {}),
            ("transitions over a year", "transitions", period, {}),
            ("targets, 13 monthly points", "targets", period, {}),
            ("distribution as SVG", "segment-distribution", at_now, svg),
            ("transitions as SVG", "transitions", period, svg),
        ]
        rows = []
        with (
            httpx.Client(base_url=base, timeout=120) as http,
            psycopg.connect(url.replace("+psycopg", "")) as db,
        ):

            def get(path: str, params: dict[str, Any], extra: dict[str, str]) -> httpx.Response:
                response = http.get(
                    f"/v1/analytics/{path}", params=params, headers={**headers, **extra}
                )
                assert response.status_code == 200, response.text
                return response

            def baseline(sql: str, **params: object) -> dict[Any, int]:
                return {tuple(r[:-1]): r[-1] for r in db.execute(sql, params).fetchall()}  # type: ignore[call-overload]

            # The figures agree with the obvious way's before any is timed.
            for at in (now, year_ago):
                got = get("segment-distribution", {"at": at.isoformat()}, {}).json()
                want = baseline(BASE_DISTRIBUTION, at=at)
                assert {(s["code"],): s["count"] for s in got["segments"]} == want, (got, want)
            got_moves = get("transitions", period, {}).json()["rows"]
            want_moves = baseline(BASE_TRANSITIONS, start=year_ago, end=now)
            for row in got_moves:
                assert row["count"] == want_moves.get((row["from_code"], row["to_code"]), 0) or (
                    row["count"] is None
                ), row
            points = month_points(year_ago, now)
            got_points = get("targets", period, {}).json()["points"]
            for point, at in zip(got_points[:3], points[:3], strict=True):
                want = baseline(BASE_DISTRIBUTION, at=at)
                assert {(s["code"],): s["count"] for s in point["segments"]} == want
            print("every endpoint's counts equal the baseline's")

            for label, path, params, extra in calls:
                get(path, params, extra)  # warm
                rows.append((label, median_ms(partial(get, path, params, extra), args.repeat)))
            few = max(1, args.repeat // 3)
            distribution = partial(baseline, BASE_DISTRIBUTION, at=now)
            moves = partial(baseline, BASE_TRANSITIONS, start=year_ago, end=now)
            base_rows = [
                ("distribution at now", median_ms(distribution, few)),
                ("transitions over a year", median_ms(moves, few)),
                ("targets, 13 monthly points", median_ms(
                    lambda: [baseline(BASE_DISTRIBUTION, at=p) for p in points], 1)),
            ]  # fmt: skip
    print(f"\n{'endpoint (HTTP, median)':<34} {'ms':>9}   goal < {GOAL_MS} ms")
    for label, ms in rows:
        print(f"{label:<34} {ms:>9.1f}   {'ok' if ms < GOAL_MS else 'SLOW'}")
    print(f"\n{'baseline: window query, SQL only':<34} {'ms':>9}")
    for label, ms in base_rows:
        print(f"{label:<34} {ms:>9.1f}")


if __name__ == "__main__":
    main()
