"""What the shape of a write transaction costs the client process, before any work of ours.

A submission on PostgreSQL is BEGIN, one or two statements, COMMIT: three or four round trips
(`bench/round_trips.py`). This prints the client CPU and wall time of a transaction of two
single-row inserts sent in the shapes a driver allows — asyncpg, one round trip each (as the
service does); psycopg 3 in its pipeline mode (BEGIN and the first insert in one flight, the
second insert and COMMIT in another); and one call of a PL/pgSQL function doing both inserts
in an implicit transaction (one round trip) — each against the others in the same run, on a
temporary table and function of the benchmark's own connection:

    python3 bench/write_shapes.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import time
from collections.abc import Awaitable, Callable

import asyncpg
import psycopg
import uvloop

INSERT = "INSERT INTO shape_t (a, b) VALUES ($1, $2) RETURNING id"
TABLE = "CREATE TEMP TABLE shape_t (id serial, a int, b text)"
FUNCTION = """
CREATE FUNCTION pg_temp.two_inserts(x int, y text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    first_id int;
BEGIN
    INSERT INTO shape_t (a, b) VALUES (x, y) RETURNING id INTO first_id;
    INSERT INTO shape_t (a, b) VALUES (x + 1, y);
    RETURN first_id;
END $$
"""


async def measure(url: str, transactions: int) -> None:
    fast = await asyncpg.connect(url)
    await fast.execute(TABLE)
    await fast.execute(FUNCTION)
    piped = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await piped.execute(TABLE)
    insert = INSERT.replace("$1", "%s").replace("$2", "%s")

    async def round_trip_each() -> None:
        await fast.execute("BEGIN")
        await fast.fetch(INSERT, 1, "x")
        await fast.fetch(INSERT, 2, "y")
        await fast.execute("COMMIT")

    async def pipeline() -> None:
        async with piped.pipeline():
            await piped.execute("BEGIN")
            first = await piped.execute(insert, (1, "x"), prepare=True)
            await first.fetchall()  # the next statement needs this one's result: one flight
            second = await piped.execute(insert, (2, "y"), prepare=True)
            await piped.execute("COMMIT")
        await second.fetchall()

    async def one_call() -> None:
        await fast.fetchval("SELECT pg_temp.two_inserts($1, $2)", 1, "x")

    shapes: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("asyncpg, a round trip each (4)", round_trip_each),
        ("psycopg 3 pipeline mode (2 flights)", pipeline),
        ("asyncpg, one function call (1)", one_call),
    ]
    print(f"{'two inserts in a transaction':38s} client CPU    wall (µs per transaction)")
    for name, shape in shapes:
        for _ in range(200):
            await shape()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(transactions):
            await shape()
        cpu_us = (time.process_time() - cpu) / transactions * 1e6
        wall_us = (time.perf_counter() - wall) / transactions * 1e6
        print(f"{name:38s} {cpu_us:10.1f} {wall_us:8.1f}")
    await fast.close()
    await piped.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--transactions", type=int, default=3000)
    arguments = parser.parse_args()
    uvloop.run(measure(arguments.postgres, arguments.transactions))


if __name__ == "__main__":
    main()
