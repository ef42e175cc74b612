"""A run's data source: `jsonl` (samples given) or `completions` (ftgate samples a model), its
items inline (`file_content`) or in a file (`file_id`). Parsed once when the run is created,
into the normalised form the run echoes and its worker reads back."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from gateway import text
from gateway.errors import InvalidRequest
from gateway.evals import item_schema
from graders.templates import lookup, render, render_value, variables

ROLES = ("user", "assistant", "system", "developer")
# The spec's defaults for the sampling parameters a run leaves unset.
SAMPLING_DEFAULTS = {"seed": 42, "temperature": 1.0, "top_p": 1.0}
SAMPLING_KEYS = ("seed", "temperature", "top_p", "reasoning_effort", "response_format", "tools")


@dataclass(frozen=True)
class Row:
    """One line of the data source: its item and sample, or why it cannot be used."""

    item: dict[str, Any]
    sample: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class RunSource:
    echo: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.echo["type"]

    @property
    def model(self) -> str | None:
        return self.echo.get("model")

    @property
    def file_id(self) -> str | None:
        source = self.echo["source"]
        return source["id"] if source["type"] == "file_id" else None

    def inline_rows(self) -> list[Row]:
        return [_row(entry) for entry in self.echo["source"].get("content", [])]

    def chat_body(self, item: dict[str, Any]) -> dict[str, Any]:
        """The chat completion that samples `item`; raises MissingVariable or ValueError."""
        params = self.echo["sampling_params"]
        body: dict[str, Any] = {"model": self.echo["model"], "messages": self.messages(item)}
        body |= {key: params[key] for key in SAMPLING_KEYS if params.get(key) is not None}
        if params.get("max_completion_tokens") is not None:
            body["max_completion_tokens"] = params["max_completion_tokens"]
        return body

    def messages(self, item: dict[str, Any]) -> list[dict[str, str]]:
        inputs = self.echo["input_messages"]
        if inputs["type"] == "item_reference":
            return _referenced_messages(inputs["item_reference"], item)
        return [
            {"role": message["role"], "content": render(message["content"]["text"], {"item": item})}
            for message in inputs["template"]
        ]


def parse(raw: Any, schema: dict[str, Any]) -> RunSource:
    """The run's data source in its normalised form; raises InvalidRequest naming the culprit."""
    if not isinstance(raw, dict):
        raise InvalidRequest("Missing required parameter: 'data_source'.", param="data_source")
    kind = raw.get("type")
    if kind not in ("jsonl", "completions"):
        raise InvalidRequest(
            f"Invalid value for 'data_source.type': {kind!r}. Supported values are: 'jsonl', 'completions' "
            "(ftgate serves no Responses API to sample from).",
            param="data_source.type",
        )
    echo: dict[str, Any] = {"type": kind, "source": _source(raw.get("source"), schema)}
    if kind == "completions":
        echo["input_messages"] = _input_messages(raw.get("input_messages"), schema)
        model = raw.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest(
                "Missing required parameter: 'data_source.model'.", param="data_source.model"
            )
        echo["model"] = model
        echo["sampling_params"] = _sampling(raw.get("sampling_params"))
    return RunSource(echo)


def _source(raw: Any, schema: dict[str, Any]) -> dict[str, Any]:
    param = "data_source.source"
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "file_id":
        if not isinstance(raw.get("id"), str) or not raw["id"]:
            raise InvalidRequest(f"Missing required parameter: '{param}.id'.", param=f"{param}.id")
        return {"type": "file_id", "id": raw["id"]}
    if kind == "file_content":
        content = raw.get("content")
        if not isinstance(content, list):
            raise InvalidRequest(f"{param}.content must be an array of rows.", param=f"{param}.content")
        checker = item_schema.ItemChecker(schema)
        for index, entry in enumerate(content):
            row = _row(entry)
            problem = row.problem or checker.problem(row.item)
            if problem is not None:
                raise InvalidRequest(f"Invalid row: {problem}", param=f"{param}.content[{index}]")
        return {"type": "file_content", "content": content}
    raise InvalidRequest(
        f"Invalid value for '{param}.type': {kind!r}. Supported values are: 'file_content', 'file_id' "
        "(ftgate stores no chat completions to draw items from).",
        param=f"{param}.type",
    )


def _row(entry: Any) -> Row:
    if not isinstance(entry, dict) or not isinstance(entry.get("item"), dict):
        return Row({}, problem='each row must be an object with an "item" object')
    sample = entry.get("sample")
    if sample is not None and not isinstance(sample, dict):
        return Row(entry["item"], problem='"sample" must be an object')
    return Row(entry["item"], sample)


def read_rows(file: BinaryIO) -> Iterator[Row]:
    """The rows of an evals file, one JSON object per line (blank lines are not rows)."""
    for line in file:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            yield Row({}, problem="the line is not valid JSON")
            continue
        if (refused := text.first_refusal(entry, stored=True)) is not None:
            at, message = refused
            yield Row({}, problem=f"{at}: {message}")
            continue
        yield _row(entry)


def _input_messages(raw: Any, schema: dict[str, Any]) -> dict[str, Any]:
    param = "data_source.input_messages"
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "item_reference":
        reference = raw.get("item_reference")
        path = tuple(reference.split(".")) if isinstance(reference, str) else ()
        if len(path) < 2 or path[0] != "item" or not item_schema.provides(schema, path[1:]):
            raise InvalidRequest(
                f"{param}.item_reference must name a field of the item schema, like 'item.messages'.",
                param=f"{param}.item_reference",
            )
        return {"type": "item_reference", "item_reference": reference}
    if kind != "template" or not isinstance(raw.get("template"), list) or not raw["template"]:
        raise InvalidRequest(
            f"{param} must be {{'type': 'template', 'template': [messages]}} or "
            "{'type': 'item_reference', 'item_reference': 'item.…'}.",
            param=param,
        )
    return {
        "type": "template",
        "template": [_message(m, f"{param}.template[{i}]", schema) for i, m in enumerate(raw["template"])],
    }


def _message(raw: Any, param: str, schema: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("role") not in ROLES:
        raise InvalidRequest(f"{param}.role must be one of {', '.join(ROLES)}.", param=f"{param}.role")
    template = _text(raw.get("content"), f"{param}.content")
    for path in variables(template):
        if path[0] != "item" or not item_schema.provides(schema, path[1:]):
            raise InvalidRequest(
                f"Invalid template: {{{{{'.'.join(path)}}}}} names a field that the eval's item_schema "
                "does not have (input messages see only the item).",
                param=f"{param}.content",
            )
    return {"type": "message", "role": raw["role"], "content": {"type": "input_text", "text": template}}


def _text(content: Any, param: str) -> str:
    """A message's text: a string, one text part, or a list of text parts (joined)."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    texts = []
    for part in parts:
        if not isinstance(part, dict) or part.get("type") not in ("input_text", "output_text"):
            raise InvalidRequest(f"{param} must be text (input_text or output_text parts).", param=param)
        if not isinstance(part.get("text"), str):
            raise InvalidRequest(f"Missing required parameter: '{param}.text'.", param=param)
        texts.append(part["text"])
    return "".join(texts)


def _sampling(raw: Any) -> dict[str, Any]:
    param = "data_source.sampling_params"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{param} must be an object.", param=param)
    params = dict(SAMPLING_DEFAULTS)
    for key in SAMPLING_KEYS:
        if raw.get(key) is not None:
            params[key] = raw[key]
    for key in ("temperature", "top_p"):
        if isinstance(params[key], bool) or not isinstance(params[key], int | float):
            raise InvalidRequest(f"{param}.{key} must be a number.", param=f"{param}.{key}")
    if isinstance(params["seed"], bool) or not isinstance(params["seed"], int):
        raise InvalidRequest(f"{param}.seed must be an integer.", param=f"{param}.seed")
    limit = raw.get("max_completion_tokens", raw.get("max_completions_tokens"))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(
                f"{param}.max_completion_tokens must be a positive integer.",
                param=f"{param}.max_completion_tokens",
            )
        # Both spellings: the spec's and the one OpenAI's examples echo.
        params["max_completion_tokens"] = params["max_completions_tokens"] = limit
    return params


def _referenced_messages(reference: str, item: dict[str, Any]) -> list[dict[str, str]]:
    value = lookup(tuple(reference.split(".")), {"item": item})
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise ValueError(f"{reference} must be a list of messages")
    messages = []
    for message in value:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ValueError(f"{reference} must hold messages with a role of {', '.join(ROLES)}")
        content = message.get("content")
        messages.append(
            {
                "role": message["role"],
                "content": content if isinstance(content, str) else render_value(content),
            }
        )
    return messages
