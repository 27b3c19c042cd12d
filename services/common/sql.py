"""What repositories share when they write SQL (asyncpg, $n parameters): numbered parameters
for statements built from optional parts, INSERT/UPDATE of the columns given, and unique
violations turned into domain errors."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import asyncpg

from services.common.errors import DuplicateKey


class Params:
    """Positional parameters: `where.append(f"status = {p(status)}")`, then
    `fetch(sql, *p.values)`."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def insert(table: str, row: Mapping[str, Any], returning: str = "") -> tuple[str, list[Any]]:
    """INSERT of one row's columns (names come from code, never from clients)."""
    p = Params()
    values = ", ".join(p(value) for value in row.values())
    sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"  # noqa: S608
    return sql + (f" RETURNING {returning}" if returning else ""), p.values


def update(
    table: str, key: tuple[str, Any], fields: Mapping[str, Any], returning: str = ""
) -> tuple[str, list[Any]]:
    """UPDATE of some columns of the row whose `key` column has that value."""
    p = Params(key[1])
    sets = ", ".join(f"{name} = {p(value)}" for name, value in fields.items())
    sql = f"UPDATE {table} SET {sets} WHERE {key[0]} = $1"  # noqa: S608
    return sql + (f" RETURNING {returning}" if returning else ""), p.values


@contextmanager
def unique_keys(keys: Mapping[str, str]) -> Iterator[None]:
    """A unique index of `keys` (constraint name → domain key) that rejects the write becomes
    DuplicateKey(domain key); other violations stay what they are."""
    try:
        yield
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name not in keys:
            raise
        raise DuplicateKey(keys[e.constraint_name]) from None
