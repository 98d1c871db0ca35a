"""Worklists at volume: the first page of each worklist, and a later one, for a tenant of N
clients on PostgreSQL, against the same list computed the obvious way (a window query over the
assessment table ranking every client's timeline) in the same run.

The data is made by SQL `generate_series` in a scratch database of its own (dropped at the
end): N clients, each with a decision in force (40 % self-care, 20 % support, 20 %
collaboration, 20 % care) taken effect within the last two years, a fifth with an earlier one;
most collaboration and care clients have a named contact and a plan, care clients often a team
member, some contacts ended; 2,000 professionals share the memberships. One uvicorn process on
127.0.0.1 serves; the figures are medians over --repeat calls over HTTP, the access-log rows
of each listed client included. Goal (issue 13): the first page of each list under 200 ms.

    python3 bench/worklists.py [--clients 1000000] [--repeat 15]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import httpx
import psycopg
from support import SECRET, postgres_database, service

from app.auth import SCOPES, mint_token

GOAL_MS = 200
PROFESSIONALS = 2000

LOAD = [
    """INSERT INTO client (id, tenant, identity_kind, identity_index, external_system,
           external_value, created_at, created_by, last_sequence)
       SELECT md5('c' || n)::uuid, 'helsinki', 'external', md5('i' || n), 'urn:bench',
              n::text, now(), 'bench', 2
       FROM generate_series(1, %(n)s) AS n""",
    # The decision in force: code by n % 10, taken effect within the last 730 days.
    """INSERT INTO assessment (id, tenant, client_id, sequence, model_id, model_version,
           answers, details, suggested_code, decided_code, explanation, warnings,
           effective_at, recorded_at, recorded_by, source, change_tx)
       SELECT md5('a' || n)::uuid, 'helsinki', md5('c' || n)::uuid, 2, 'helsinki-2023',
              '2023.1', '{}', '{}', code, code, '{}', '{}',
              now() - ((n::bigint * 7919) %% 730) * interval '1 day'
                    - (n %% 86400) * interval '1 s',
              now(), 'bench', 'assessment', 1
       FROM (SELECT n, CASE WHEN n %% 10 < 4 THEN 1 WHEN n %% 10 < 6 THEN 2
                            WHEN n %% 10 < 8 THEN 3 ELSE 4 END AS code
             FROM generate_series(1, %(n)s) AS n) AS s""",
    # A fifth of the clients have an earlier decision in their timeline.
    """INSERT INTO assessment (id, tenant, client_id, sequence, model_id, model_version,
           answers, details, suggested_code, decided_code, explanation, warnings,
           effective_at, recorded_at, recorded_by, source, change_tx)
       SELECT md5('e' || n)::uuid, 'helsinki', md5('c' || n)::uuid, 1, 'helsinki-2023',
              '2023.1', '{}', '{}', 1 + n %% 4, 1 + n %% 4, '{}', '{}',
              now() - interval '800 days', now(), 'bench', 'assessment', 1
       FROM generate_series(1, %(n)s) AS n WHERE n %% 5 = 0""",
    # The segment in force per client, as every timeline write keeps it (the migration's
    # backfill: each client's latest active decision).
    """INSERT INTO segment_now (client_id, tenant, assessment_id, model_id, model_version,
           decided_code, valid_from)
       SELECT DISTINCT ON (a.client_id) a.client_id, a.tenant, a.id, a.model_id,
              a.model_version, a.decided_code, a.effective_at
       FROM assessment AS a
       WHERE NOT EXISTS (SELECT 1 FROM retraction AS r WHERE r.assessment_id = a.id)
       ORDER BY a.client_id, a.effective_at DESC, a.sequence DESC""",
    # Named contacts for 70 % of collaboration and care clients.
    """INSERT INTO care_team_member (id, tenant, client_id, professional, role, title,
           valid_from, recorded_at, recorded_by)
       SELECT md5('m' || n)::uuid, 'helsinki', md5('c' || n)::uuid,
              'pro-' || (n %% %(pros)s), 'named_contact', 'hoitovastaava',
              now() - interval '10 days', now(), 'bench'
       FROM generate_series(1, %(n)s) AS n WHERE n %% 10 >= 6 AND n %% 7 < 5""",
    # Team members for half of the care clients.
    """INSERT INTO care_team_member (id, tenant, client_id, professional, role, title,
           valid_from, recorded_at, recorded_by)
       SELECT md5('t' || n)::uuid, 'helsinki', md5('c' || n)::uuid,
              'pro-' || ((n + 1) %% %(pros)s), 'team_member', 'sosiaaliohjaaja',
              now() - interval '10 days', now(), 'bench'
       FROM generate_series(1, %(n)s) AS n WHERE n %% 10 >= 8 AND n %% 2 = 0""",
    # One contact in twenty has ended, with no successor.
    """INSERT INTO care_team_end (id, tenant, member_id, at, recorded_at, recorded_by)
       SELECT md5('x' || n)::uuid, 'helsinki', md5('m' || n)::uuid, now() - interval '2 days',
              now(), 'bench'
       FROM generate_series(1, %(n)s) AS n
       WHERE n %% 10 >= 6 AND n %% 7 < 5 AND n %% 20 = 0""",
    # Plans for 60 % of collaboration and care clients, reviews from 50 days ago to 150 ahead.
    """INSERT INTO care_plan (id, tenant, client_id, kind, made_at, review_by, review_at,
           recorded_at, recorded_by)
       SELECT md5('p' || n)::uuid, 'helsinki', md5('c' || n)::uuid, 'health_and_care_plan',
              now() - interval '60 days', day, day::timestamp AT TIME ZONE 'Europe/Helsinki',
              now(), 'bench'
       FROM (SELECT n, current_date + ((n * 31) %% 200 - 50) AS day
             FROM generate_series(1, %(n)s) AS n WHERE n %% 10 >= 6 AND n %% 5 < 3) AS s""",
]

# The baseline: rank every client's timeline, then order the whole tenant by the date.
BASELINE = {
    "reassessment-due": """
        WITH ranked AS (
            SELECT a.client_id, a.decided_code, a.effective_at,
                   row_number() OVER (PARTITION BY a.client_id
                                      ORDER BY a.effective_at DESC, a.sequence DESC) AS rank
            FROM assessment a
            WHERE a.tenant = 'helsinki' AND a.effective_at <= now()
              AND NOT EXISTS (SELECT 1 FROM retraction r WHERE r.assessment_id = a.id))
        SELECT client_id, effective_at + CASE decided_code WHEN 1 THEN 365 WHEN 4 THEN 90
                                           ELSE 180 END * interval '1 day' AS reassess_by
        FROM ranked WHERE rank = 1
        ORDER BY reassess_by, client_id LIMIT 50""",
    "coordination-gaps": """
        WITH ranked AS (
            SELECT a.client_id, a.decided_code, a.effective_at,
                   row_number() OVER (PARTITION BY a.client_id
                                      ORDER BY a.effective_at DESC, a.sequence DESC) AS rank
            FROM assessment a
            WHERE a.tenant = 'helsinki' AND a.effective_at <= now()
              AND NOT EXISTS (SELECT 1 FROM retraction r WHERE r.assessment_id = a.id))
        SELECT client_id, effective_at FROM ranked
        WHERE rank = 1 AND decided_code IN (3, 4) AND (
            NOT EXISTS (SELECT 1 FROM care_team_member m WHERE m.client_id = ranked.client_id
                        AND m.role = 'named_contact'
                        AND NOT EXISTS (SELECT 1 FROM care_team_end e WHERE e.member_id = m.id))
            OR NOT EXISTS (SELECT 1 FROM care_plan p WHERE p.client_id = ranked.client_id))
        ORDER BY effective_at, client_id LIMIT 50""",
}


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def fetch(connection: psycopg.Connection, sql: str) -> list[object]:
    return list(connection.execute(sql).fetchall())


def load(url: str, clients: int) -> float:
    began = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        for statement in LOAD:
            connection.execute(statement, {"n": clients, "pros": PROFESSIONALS})
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with postgres_database(args.postgres, "bench_worklists") as url, service(url, 8731) as base:
        seconds = load(url, args.clients)
        print(f"loaded {args.clients:,} clients by generate_series in {seconds:.0f} s")
        coordinator = mint_token(SECRET, sub="coordinator", org="helsinki", scopes=list(SCOPES))
        professional = mint_token(SECRET, sub="pro-7", org="helsinki", scopes=list(SCOPES))
        rows = []
        with httpx.Client(base_url=base, timeout=60) as http:

            def page(name: str, token: str, **params: object) -> httpx.Response:
                response = http.get(
                    f"/v1/worklists/{name}",
                    params={"limit": 50, **params},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                return response

            for name, token, params in (
                ("reassessment-due", coordinator, {}),
                ("reassessment-due", coordinator, {"within_days": 30}),
                ("coordination-gaps", coordinator, {}),
                ("mine", professional, {}),
            ):
                first = page(name, token, **params)
                count = len(first.json()["items"])
                label = name + "".join(f" {k}={v}" for k, v in params.items())
                rows.append(
                    (
                        label,
                        "first page",
                        count,
                        median_ms(partial(page, name, token, **params), args.repeat),
                    )
                )
                after = first.json()["next"]
                if after:
                    later = {**params, "after": after}
                    rows.append(
                        (
                            label,
                            "second page",
                            count,
                            median_ms(partial(page, name, token, **later), args.repeat),
                        )
                    )
        with psycopg.connect(url.replace("+psycopg", "")) as connection:
            for name, sql in BASELINE.items():
                rows.append(
                    (
                        name,
                        "baseline: window query, SQL only",
                        50,
                        median_ms(partial(fetch, connection, sql), max(3, args.repeat // 5)),
                    )
                )
    print(f"\n{'list':<32} {'what':<34} {'items':>5} {'median ms':>10}  goal < {GOAL_MS} ms")
    for label, what, count, ms in rows:
        mark = "" if what.startswith("baseline") else ("ok" if ms < GOAL_MS else "SLOW")
        print(f"{label:<32} {what:<34} {count:>5} {ms:>10.1f}  {mark}")


if __name__ == "__main__":
    main()
