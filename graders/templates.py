"""`{{item.x}}` / `{{sample.output_text}}` / `{{sample.output_json.a.b}}` templates.

A variable is a dotted path from one of two namespaces, `item` (the dataset row) and `sample`
(the model's output: `output_text`, and `output_json` when the output text is valid JSON);
list elements are reached with `.0` or `[0]`. Strings are inserted as they are, anything else
as compact JSON. Braces around any other name (`{{ foo }}`) are left as they are.
"""

import json
import re
from typing import Any

VARIABLE = re.compile(r"\{\{\s*(item|sample)((?:\s*(?:\.\s*[^.\s{}\[\]]+|\[\s*\d+\s*\]))*)\s*\}\}")
SEGMENT = re.compile(r"\.\s*([^.\s{}\[\]]+)|\[\s*(\d+)\s*\]")
NAMESPACES = ("item", "sample")


class MissingVariable(LookupError):
    """A template names a field the item or sample does not have."""

    def __init__(self, path: str, *, in_sample_json: bool) -> None:
        super().__init__(f"{{{{{path}}}}} names a field that does not exist")
        self.path = path
        self.in_sample_json = in_sample_json


def sample_namespace(output_text: str) -> dict[str, Any]:
    """The `sample` namespace for a model's text output."""
    try:
        output_json = json.loads(output_text)
    except ValueError:
        output_json = None
    return {"output_text": output_text, "output_json": output_json}


def variables(template: str) -> list[tuple[str, ...]]:
    """Each variable of `template` as its path: `("item", "answer")`."""
    return [path_of(match) for match in VARIABLE.finditer(template)]


def path_of(match: re.Match[str]) -> tuple[str, ...]:
    return (match.group(1), *(name or index for name, index in SEGMENT.findall(match.group(2))))


def lookup(path: tuple[str, ...], context: dict[str, Any]) -> Any:
    value: Any = context
    for depth, key in enumerate(path):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            in_json = len(path) > 2 and path[:2] == ("sample", "output_json") and depth >= 1
            raise MissingVariable(".".join(path), in_sample_json=in_json)
    return value


def render_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(template: str, context: dict[str, Any]) -> str:
    """`template` with each variable replaced; raises MissingVariable for an absent field."""
    return VARIABLE.sub(lambda match: render_value(lookup(path_of(match), context)), template)
