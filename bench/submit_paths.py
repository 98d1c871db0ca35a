"""What a submission costs the service's process in CPU: one call of `segmentti_submit`
against the statements it stands for (BEGIN, the claim and its writes, the projections for a
known client, COMMIT), for a first assessment and for a known client's next one.

The service runs in this process (uvloop, the app over ASGI, no HTTP server); requests are
sent one at a time, the two paths taking turns in blocks, so that both meet the same
machine: on this shared 2-core machine a request's CPU time moved by half between runs of
bench/throughput.py minutes apart, far more than a round trip's cost. Prints CPU µs per
request of each path (the median block) and the difference:

    python3 bench/submit_paths.py [--blocks 20] [--per-block 100]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import uvloop
from support import DATA_KEY, ROOT, SECRET, hetu, postgres_database, token

from app.assessments import service

ANSWERS = {"coping": "difficult", "risk_level": "many"}


async def _no_call(*_: Any) -> None:
    return None  # as when the keys are not current: the statements, as ever


async def measure(url: str, blocks: int, per_block: int) -> dict[str, list[float]]:
    os.environ.update(
        SEGMENTTI_DATABASE_URL=url,
        SEGMENTTI_JWT_SECRET=SECRET,
        SEGMENTTI_DATA_KEY=DATA_KEY,
        SEGMENTTI_INDEX_KEY="bench-index-key-bench-index-key-bench",
        SEGMENTTI_LOG_LEVEL="WARNING",
    )
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, check=True, env=os.environ
    )
    from app.main import create_app

    app = create_app()
    one_call = service._submit_in_one_call
    headers = {"Authorization": f"Bearer {token()}"}
    cpu: dict[str, list[float]] = {}
    person = 0
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def submit(n: int) -> None:
                body = {"client": {"hetu": hetu(n)}, "model": "helsinki-2023", "answers": ANSWERS}
                response = await http.post("/v1/assessments", json=body, headers=headers)
                assert response.status_code == 201, response.text

            for n in range(200):  # warm: both paths, statements prepared
                service._submit_in_one_call = one_call if n % 2 else _no_call  # type: ignore
                await submit(10_000_000 + n)
            for block in range(2 * blocks):
                call = block % 2 == 0
                service._submit_in_one_call = one_call if call else _no_call  # type: ignore
                first, person = person, person + per_block
                for known in (False, True):  # known: the same people, a second time
                    started = time.process_time()
                    for i in range(per_block):
                        await submit(first + i)
                    spent = (time.process_time() - started) / per_block * 1e6
                    name = f"{'one call' if call else 'statements'}, {'known' if known else 'new'}"
                    cpu.setdefault(name, []).append(spent)
    service._submit_in_one_call = one_call  # type: ignore[assignment]
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--per-block", type=int, default=100)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with postgres_database(args.postgres, "bench_submit") as url:
        cpu = uvloop.run(measure(url, args.blocks, args.per_block))
    print(f"\nCPU of the service's process per submission (median of {args.blocks} blocks)")
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    for name, value in medians.items():
        print(f"  {name:24s} {value:7.0f} µs")
    for kind in ("new", "known"):
        saved = medians[f"statements, {kind}"] - medians[f"one call, {kind}"]
        share = saved / medians[f"statements, {kind}"]
        print(f"  one call saves, {kind:6s}  {saved:7.0f} µs ({share:.0%})")


if __name__ == "__main__":
    main()
