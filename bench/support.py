"""What the benchmark scripts share: a service process on a database of its own.

Everything runs on 127.0.0.1, and every process and database started here is stopped or
dropped by the caller's `with` block.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import SCOPES, mint_token  # noqa: E402
from app.db import create_sync_engine  # noqa: E402

SECRET = "bench-secret-bench-secret-bench-secret"
# One data key per run: a database refuses a service started again with other keys.
DATA_KEY = Fernet.generate_key().decode()
CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def hetu(n: int) -> str:
    """The n-th of about ten million distinct valid identity codes."""
    birth = f"{(n % 28) + 1:02d}{(n // 28) % 12 + 1:02d}{(n // 336) % 100:02d}"
    individual = 2 + (n // 33600) % 897
    return f"{birth}-{individual:03d}{CHECK[int(f'{birth}{individual:03d}') % 31]}"


def token(org: str = "helsinki") -> str:
    return mint_token(SECRET, sub="bench", org=org, scopes=list(SCOPES))


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def service(url: str, port: int, output: IO[bytes] | None = None) -> Iterator[str]:
    """Migrate `url`, serve it with uvicorn on `port`, yield the base URL, stop at the end."""
    with service_process(url, port, output) as (base, _):
        yield base


@contextmanager
def service_process(
    url: str, port: int, output: IO[bytes] | None = None, workers: int = 1, **settings: str
) -> "Iterator[tuple[str, subprocess.Popen[bytes]]]":
    """As `service`, also yielding the server's process (to watch its memory); `settings`
    are further SEGMENTTI_* variables, e.g. max_import_bytes="4294967296"."""
    env = {
        **os.environ,
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": SECRET,
        "SEGMENTTI_DATA_KEY": DATA_KEY,
        "SEGMENTTI_INDEX_KEY": "bench-index-key-bench-index-key-bench",
        **{f"SEGMENTTI_{name.upper()}": value for name, value in settings.items()},
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    # The service's one log line per request is part of what is measured; it is not shown.
    sink = output if output is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
        + (["--workers", str(workers)] if workers > 1 else []),
        cwd=ROOT,
        env=env,
        stdout=sink,
        stderr=sink,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # several workers on a busy machine take a while
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("service did not become ready")
        yield base, process
    finally:
        stop(process)


@contextmanager
def postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server, dropped at the end; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_sync_engine(server_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
