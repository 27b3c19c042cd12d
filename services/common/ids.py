"""Server-generated ids, once for every resource."""

import uuid_utils


def new_id() -> str:
    """URL-safe, unguessable and time-ordered (UUIDv7); also a valid client-style room id."""
    return str(uuid_utils.uuid7())
