"""AIP-134 update masks, once: which fields of a resource an Update request changes, each
checked by the rule its resource declares for it."""

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from services.common.validation import Violations

# (violations, field path as the client named it, the value sent) → the value to store.
FieldCheck = Callable[[Violations, str, Any], Any]


def unchecked(_v: Violations, _field: str, value: Any) -> Any:
    """For fields any value of their type suits (booleans)."""
    return value


def is_set(message: Message, name: str) -> bool:
    """Whether a field carries a value: presence for messages, non-default for the rest."""
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.message_type is not None and not field.is_repeated:
        return message.HasField(name)
    return bool(getattr(message, name))


def apply_update_mask(
    v: Violations,
    resource: Message,
    mask: field_mask_pb2.FieldMask,
    updatable: Mapping[str, FieldCheck],
    prefix: str,
) -> dict[str, Any]:
    """The checked values of the fields to update. Without a mask, every updatable field that
    is set (AIP-134); a path that is not updatable is a violation of `update_mask`."""
    if not v.count("update_mask.paths", mask.paths, 2 * len(updatable)):
        return {}
    paths = list(mask.paths) or [name for name in updatable if is_set(resource, name)]
    fields: dict[str, Any] = {}
    for path in dict.fromkeys(paths):
        check = updatable.get(path)
        if check is None:
            v.add("update_mask", f"{path!r} cannot be updated")
        else:
            fields[path] = check(v, f"{prefix}.{path}", getattr(resource, path))
    return fields
