"""Import and export at volume: N decisions in through the endpoint, out as CSV, NDJSON and
FHIR, against the database's own `COPY (SELECT …) TO STDOUT` of the same rows in the same run.

One uvicorn process per database on 127.0.0.1, on a database of its own. Prints rows/s, the
ratio to the COPY baseline, and the server's memory (RSS sampled every 20 ms: its growth over
the phase's start, and its peak). The client runs on the same machine and its CPU time is part
of every figure, as it would be for a puller on the same host. Goals (issue 9, PostgreSQL):
import ≥ 20,000 rows/s; CSV ≥ 100,000 rows/s and within 4× COPY; FHIR ≥ 30,000 rows/s; RSS
growth < 100 MB.

    python3 bench/export_import.py [--rows 1000000] [--sqlite-rows 200000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import csv
import json
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from support import SECRET, hetu, postgres_database, service_process

from app.auth import SCOPES, mint_token

PER_CLIENT = 4
OBSERVATION = re.compile(rb'"resourceType"\s*:\s*"Observation"')
START = datetime(2021, 1, 11, 8, 30, tzinfo=UTC)
GOALS = {"import": 20_000, "csv": 100_000, "fhir": 30_000}


def write_import_file(path: Path, rows: int) -> int:
    """`rows` decisions, PER_CLIENT per client, consent given with each client's first."""
    with path.open("w") as out:
        for n in range(rows):
            person, nth = divmod(n, PER_CLIENT)
            line: dict[str, object] = {
                "client": {"hetu": hetu(person)},
                "model": "helsinki-2023",
                "segment_code": 1 + (person + nth) % 4,
                "effective_at": (START + timedelta(days=person % 900 + 200 * nth))
                .isoformat()
                .replace("+00:00", "Z"),
                "recorded_by": "register@helsinki.example",
            }
            if nth == 0:
                line["consent"] = {"health_register": True}
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path.stat().st_size


class Memory:
    """The server's resident memory, sampled in the background."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._running = pid, 0, False

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    @contextmanager
    def watch(self) -> Iterator["Memory"]:
        self.start = self.peak = self.rss()
        self._running = True

        def sample() -> None:
            while self._running:
                self.peak = max(self.peak, self.rss())
                time.sleep(0.02)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._running = False
            thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


@dataclass
class Figure:
    what: str
    rows: int
    seconds: float
    mb: float | None = None
    growth_mb: float | None = None
    peak_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def run_import(base: str, token: str, path: Path, rows: int, memory: Memory) -> Figure:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    with memory.watch():
        began = time.perf_counter()
        response = httpx.post(
            f"{base}/v1/imports/segments",
            content=file_chunks(path),
            headers=headers,
            timeout=3600,
        )
        seconds = time.perf_counter() - began
    assert response.status_code == 200, response.text[:2000]
    assert response.json()["imported"] == rows, response.text
    return Figure(
        "import (NDJSON in)",
        rows,
        seconds,
        path.stat().st_size / 1e6,
        memory.growth_mb,
        memory.peak / 1e6,
    )


def run_export(base: str, token: str, fmt: str, label: str, memory: Memory) -> Figure:
    """Stream one full export; its rows are counted as decisions (FHIR: Observations)."""
    headers = {"Authorization": f"Bearer {token}"}
    lines = size = observations = 0
    tail = b""
    with memory.watch():
        began = time.perf_counter()
        with httpx.stream(
            "GET",
            f"{base}/v1/exports/segments",
            params={"format": fmt},
            headers=headers,
            timeout=3600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
                if fmt == "fhir":
                    # Whole lines only: a resource is counted in the chunk its line ends in.
                    text = tail + chunk
                    end = text.rfind(b"\n") + 1
                    observations += len(OBSERVATION.findall(text[:end]))
                    tail = text[end:]
        seconds = time.perf_counter() - began
    rows = observations if fmt == "fhir" else lines - (1 if fmt == "csv" else 0)  # CSV header
    return Figure(label, rows, seconds, size / 1e6, memory.growth_mb, memory.peak / 1e6)


BASELINE = """
    SELECT a.client_id, NULL AS hetu, a.decided_code AS segment_code, a.decided_code AS segment_key,
    to_char(a.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    to_char(a.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    a.recorded_by, a.model_id, a.model_version, a.id, 'active' AS status
    FROM assessment a JOIN client c ON c.id = a.client_id WHERE a.tenant = 'helsinki'
"""


def copy_baseline(url: str) -> Figure:
    """The same rows and columns, straight from the tables: no consent rule, no scope."""
    rows = size = 0
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        began = time.perf_counter()
        with cursor.copy(f"COPY ({BASELINE}) TO STDOUT (FORMAT csv, HEADER)") as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
        seconds = time.perf_counter() - began
    return Figure("COPY (SELECT …) TO STDOUT", rows - 1, seconds, size / 1e6)


def sqlite_baseline(path: str) -> Figure:
    """SQLite has no COPY: the same SELECT through sqlite3, written with the csv module."""
    query = BASELINE.replace(
        "to_char(a.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        "a.effective_at",
    ).replace(
        "to_char(a.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        "a.recorded_at",
    )

    class Sink:
        size = 0

        def write(self, text: str) -> None:
            Sink.size += len(text)

    connection = sqlite3.connect(path)
    began = time.perf_counter()
    writer = csv.writer(Sink())
    rows = 0
    for row in connection.execute(query):
        writer.writerow(row)
        rows += 1
    seconds = time.perf_counter() - began
    connection.close()
    return Figure("SELECT through sqlite3 + csv", rows, seconds, Sink.size / 1e6)


def tokens() -> tuple[str, str]:
    everything = mint_token(SECRET, sub="bench", org="helsinki", scopes=list(SCOPES))
    plain = [s for s in SCOPES if s != "identity:read"]
    return everything, mint_token(SECRET, sub="bench", org="helsinki", scopes=plain)


def run(name: str, url: str, rows: int, port: int, work: Path) -> list[Figure]:
    path = work / f"import-{rows}.ndjson"
    if not path.exists():
        write_import_file(path, rows)
    with_identity, without_identity = tokens()
    figures: list[Figure] = []
    settings = {"max_import_bytes": str(4 << 30)}
    with service_process(url, port, **settings) as (base, process):
        memory = Memory(process.pid)
        print(f"\n{name}: {rows:,} decisions of {rows // PER_CLIENT:,} clients", flush=True)
        figures.append(run_import(base, with_identity, path, rows, memory))
        report(figures[-1])
        exports = [
            ("csv", without_identity, "export CSV"),
            ("csv", with_identity, "export CSV with identity codes"),
            ("ndjson", without_identity, "export NDJSON"),
            ("fhir", without_identity, "export FHIR"),
            ("fhir", with_identity, "export FHIR with identity codes"),
        ]
        for fmt, token, label in exports:
            figures.append(run_export(base, token, fmt, label, memory))
            assert figures[-1].rows == rows, (label, figures[-1].rows)
            report(figures[-1])
        if url.startswith("postgresql"):
            figures.append(copy_baseline(url))
        else:
            figures.append(sqlite_baseline(url.removeprefix("sqlite:///")))
        report(figures[-1])
    return figures


def report(figure: Figure) -> None:
    memory = (
        f"  RSS +{figure.growth_mb:6.1f} MB (peak {figure.peak_mb:5.0f} MB)"
        if figure.growth_mb is not None
        else ""
    )
    size = f"{figure.mb:8.1f} MB" if figure.mb is not None else ""
    print(
        f"  {figure.what:<34} {figure.rows:>10,} rows {figure.seconds:8.2f} s "
        f"{figure.rate:>10,.0f} rows/s {size}{memory}",
        flush=True,
    )


def summary(name: str, figures: list[Figure]) -> None:
    by = {f.what: f for f in figures}
    baseline = figures[-1]
    print(f"\n{name}, against {baseline.what} ({baseline.seconds:.2f} s):")
    for figure in figures[1:-1]:
        print(f"  {figure.what:<34} {figure.seconds / baseline.seconds:6.2f}× the baseline's time")
    if name != "PostgreSQL":
        return
    checks = [
        ("import ≥ 20,000 rows/s", by["import (NDJSON in)"].rate >= GOALS["import"]),
        ("CSV ≥ 100,000 rows/s", by["export CSV"].rate >= GOALS["csv"]),
        ("CSV within 4× COPY", by["export CSV"].seconds <= 4 * baseline.seconds),
        ("FHIR ≥ 30,000 rows/s", by["export FHIR"].rate >= GOALS["fhir"]),
        (
            "RSS growth < 100 MB in every phase",
            all((f.growth_mb or 0) < 100 for f in figures),
        ),
    ]
    for goal, met in checks:
        print(f"  {'met ' if met else 'MISSED'} {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite-rows", type=int, default=200_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-sqlite", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segmentti-bench-") as temporary:
        work = Path(temporary)
        with postgres_database(arguments.postgres, "bench_export") as url:
            summary("PostgreSQL", run("PostgreSQL", url, arguments.rows, 8731, work))
        if not arguments.skip_sqlite:
            url = f"sqlite:///{work / 'bench.db'}"
            summary("SQLite", run("SQLite", url, arguments.sqlite_rows, 8732, work))


if __name__ == "__main__":
    main()
