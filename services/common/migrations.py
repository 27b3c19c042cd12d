"""Versioned SQL migrations, one PostgreSQL schema per service, applied idempotently under an
advisory lock. `python -m services.common.migrations` applies them all to DATABASE_URL."""

import asyncio
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

SERVICES_DIR = Path(__file__).resolve().parents[1]
# The order schemas are created in; no service reads another's tables.
MIGRATING_SERVICES = ("room", "post", "invitation", "broadcast")
_LOCK_KEY = 0x636F7374  # "cost": one lock for every migrating process
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

log = structlog.get_logger()


@dataclass(frozen=True)
class Migration:
    service: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(services_dir: Path = SERVICES_DIR) -> list[Migration]:
    found = []
    for service in MIGRATING_SERVICES:
        folder = services_dir / service / "migrations"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.sql")):
            match = _FILE_NAME.match(path.name)
            if not match:
                raise ValueError(f"migration file name must be NNNN_description.sql: {path}")
            found.append(
                Migration(service, int(match.group(1)), path.stem, path.read_text("utf-8"))
            )
    return found


async def migrate(dsn: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is not applied yet; return what was applied. Safe to run concurrently."""
    migrations = discover() if migrations is None else migrations
    conn = await asyncpg.connect(dsn)
    applied_now = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS public.costream_migrations (
                   service text NOT NULL,
                   version integer NOT NULL,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_time timestamptz NOT NULL DEFAULT now(),
                   PRIMARY KEY (service, version))"""
        )
        rows = await conn.fetch("SELECT service, version, checksum FROM public.costream_migrations")
        done = {(r["service"], r["version"]): r["checksum"] for r in rows}
        for m in migrations:
            known = done.get((m.service, m.version))
            if known is not None:
                if known != m.checksum:
                    raise RuntimeError(f"applied migration {m.service}/{m.name} was edited")
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO public.costream_migrations (service, version, name, checksum)"
                    " VALUES ($1, $2, $3, $4)",
                    m.service,
                    m.version,
                    m.name,
                    m.checksum,
                )
            applied_now.append(m)
            log.info("migration applied", migration=f"{m.service}/{m.name}")
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        finally:
            await conn.close()
    return applied_now


def main() -> None:
    from services.common.logging import configure_logging

    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        print("migrations: DATABASE_URL is not set (on a laptop, `make migrate`)", file=sys.stderr)
        raise SystemExit(2)
    configure_logging("migrations", os.environ.get("LOG_FORMAT", "console"))
    applied = asyncio.run(migrate(dsn))
    print(f"{len(applied)} migration(s) applied", file=sys.stderr)


if __name__ == "__main__":
    main()
