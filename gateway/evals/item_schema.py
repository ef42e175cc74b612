"""A custom data source's item schema: which `{{item.…}}` paths it can provide, and whether an
item matches it (JSON Schema 2020-12, by `jsonschema`)."""

from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match


def check(schema: Any) -> str | None:
    """Why `schema` is not a usable item schema, or None."""
    if not isinstance(schema, dict):
        return "item_schema must be a JSON schema object."
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return f"item_schema is not a valid JSON schema: {error.message}"
    return None


def provides(schema: Any, path: Sequence[str]) -> bool:
    """Whether an item matching `schema` can have a value at `path` (keys, or list indexes as
    digits). A schema that declares `properties` provides only those, unless it also allows
    other properties explicitly; one that says nothing about its keys provides any."""
    for key in path:
        if not isinstance(schema, dict):
            return schema is not False
        if key.isdigit() and ("items" in schema or "prefixItems" in schema):
            prefix = schema.get("prefixItems") or []
            schema = prefix[int(key)] if int(key) < len(prefix) else schema.get("items", True)
            continue
        properties = schema.get("properties")
        if isinstance(properties, dict) and key in properties:
            schema = properties[key]
            continue
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        if kinds and "object" not in kinds:
            return False
        extra = schema.get("additionalProperties")
        if isinstance(properties, dict) and not schema.get("patternProperties") and extra in (None, False):
            return False
        schema = extra if isinstance(extra, dict) else True
    return True


class ItemChecker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self._validator = Draft202012Validator(schema)

    def problem(self, item: Any) -> str | None:
        """Why `item` does not match the schema, or None."""
        error = best_match(self._validator.iter_errors(item))
        if error is None:
            return None
        where = error.json_path.replace("$", "item", 1)
        return f"{where}: {error.message}"
