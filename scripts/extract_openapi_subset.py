"""Extract the schemas ftgate's tests validate against from OpenAI's OpenAPI spec.

Usage: python scripts/extract_openapi_subset.py [path/to/openai-openapi.yaml]

Writes openapi/openai-subset.json: the root schemas below plus every schema they
transitively $ref, with the few documented deviations listed under "x-ftgate-deviations".

The spec declares OpenAPI 3.1 (so JSON Schema 2020-12) but still carries OpenAPI 3.0 keywords
that 2020-12 reads differently: `nullable` (unknown, so ignored: null is rejected) and boolean
`exclusiveMinimum`/`exclusiveMaximum` (read as the numbers 1/0). A mechanical pass translates
them to their 3.1 meaning after the deviations are applied; each rule and how many places it
changed are listed under "x-ftgate-normalizations". Deviations are semantic choices,
normalizations only syntax.
"""

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "reference" / "openai-openapi.yaml"
OUTPUT = REPO_ROOT / "openapi" / "openai-subset.json"
REF_PREFIX = "#/components/schemas/"

ROOTS = (
    "OpenAIFile",
    "ListFilesResponse",
    "DeleteFileResponse",
    "Upload",
    "UploadPart",
    "FineTuningJob",
    "ListPaginatedFineTuningJobsResponse",
    "FineTuningJobEvent",
    "ListFineTuningJobEventsResponse",
    "FineTuningJobCheckpoint",
    "ListFineTuningJobCheckpointsResponse",
    "Model",
    "ListModelsResponse",
    "DeleteModelResponse",
    "ErrorResponse",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateFineTuningJobRequest",
    "WebhookFineTuningJobSucceeded",
    "WebhookFineTuningJobFailed",
    "WebhookFineTuningJobCancelled",
    "RunGraderResponse",
    "ValidateGraderResponse",
    "Eval",
    "EvalList",
    "EvalRun",
    "EvalRunList",
    "EvalRunOutputItem",
    "EvalRunOutputItemList",
)
_SUB_GRADERS = [
    {"$ref": f"#/components/schemas/Grader{name}"}
    for name in ("StringCheck", "TextSimilarity", "Python", "ScoreModel", "LabelModel")
]

# Response bodies the spec defines inline in a path, given a name here so they can be checked.
INLINE_RESPONSES = {
    "DeleteEvalResponse": ("/evals/{eval_id}", "delete"),
    "DeleteEvalRunResponse": ("/evals/{eval_id}/runs/{run_id}", "delete"),
}

_FILE_PURPOSES = [
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
]
_EVAL_CRITERIA = [
    {"$ref": f"#/components/schemas/EvalGrader{name}"}
    for name in ("LabelModel", "StringCheck", "TextSimilarity", "Python", "ScoreModel")
]

# Each deviation replaces the value at a JSON pointer inside one schema; "from" must match the
# spec exactly, so the script fails once upstream changes and the deviation can be reviewed.
DEVIATIONS = (
    {
        "schema": "FineTuningJob",
        "pointer": "/properties/status/enum",
        "from": ["validating_files", "queued", "running", "succeeded", "failed", "cancelled"],
        "to": ["validating_files", "queued", "running", "succeeded", "failed", "cancelled", "paused"],
        "reason": "The spec's own example response for POST /fine_tuning/jobs/{id}/pause "
        'returns "status": "paused", which the FineTuningJob.status enum lacks.',
    },
    {
        "schema": "OpenAIFile",
        "pointer": "/properties/expires_at/type",
        "from": "integer",
        "to": ["integer", "null"],
        "reason": 'Real file objects carry "expires_at": null for files that never expire '
        "(observed 2025 responses; reference/openai-api-notes.md 4.1 and 10), "
        "while the spec types it integer only.",
    },
    *(
        {
            "schema": "ListFilesResponse",
            "pointer": f"/properties/{key}/type",
            "from": "string",
            "to": ["string", "null"],
            "reason": "An empty list has no first or last id; the spec's own "
            "ListFineTuningJobCheckpointsResponse types the same fields string|null.",
        }
        for key in ("first_id", "last_id")
    ),
    {
        "schema": "GraderMulti",
        "pointer": "/properties/graders",
        "from": {"oneOf": _SUB_GRADERS},
        "to": {
            "oneOf": [
                *_SUB_GRADERS,
                {
                    "type": "object",
                    "additionalProperties": {
                        "oneOf": [*_SUB_GRADERS, {"$ref": "#/components/schemas/GraderMulti"}]
                    },
                },
            ]
        },
        "reason": "OpenAI's graders guide and its multi-grader examples give `graders` as an object "
        "of named graders (the names `calculate_output` uses); the spec types it as one grader. "
        "Both are accepted, and validate echoes the named form.",
    },
    {
        "schema": "OpenAIFile",
        "pointer": "/properties/purpose/enum",
        "from": _FILE_PURPOSES,
        "to": [*_FILE_PURPOSES, "evals"],
        "reason": "The spec's upload request accepts purpose `evals`, and real file objects carry it "
        "back; the response enum lacks it.",
    },
    *(
        {
            "schema": schema,
            "pointer": f"/properties/{key}/type",
            "from": "string",
            "to": ["string", "null"],
            "reason": "An empty list has no first or last id (as ListFilesResponse above).",
        }
        for schema in ("EvalList", "EvalRunList", "EvalRunOutputItemList")
        for key in ("first_id", "last_id")
    ),
    {
        "schema": "Eval",
        "pointer": "/properties/testing_criteria/items/oneOf",
        "from": _EVAL_CRITERIA,
        "to": [*_EVAL_CRITERIA, {"$ref": "#/components/schemas/GraderMulti"}],
        "reason": "Evals accept multi graders as testing criteria (OpenAI's graders guide); the "
        "spec's Eval lists every other grader type.",
    },
    *(
        {
            "schema": schema,
            "pointer": pointer,
            "from": {"$ref": "#/components/schemas/EvalApiError"},
            "to": {"anyOf": [{"$ref": "#/components/schemas/EvalApiError"}, {"type": "null"}]},
            "reason": "A run that has not failed, or a sample that did not, has `error: null` (the "
            "spec's own EvalRun and EvalRunOutputItem examples); the spec requires the key but "
            "types it as an object only.",
        }
        for schema, pointer in (
            ("EvalRun", "/properties/error"),
            ("EvalRunOutputItem", "/properties/sample/properties/error"),
        )
    ),
)


# The OpenAPI 3.0 -> 3.1 translations the normalization pass applies, in output order.
NORMALIZATIONS = (
    {
        "rule": 'nullable: true with type -> "null" added to type',
        "reason": "3.0 nullable is no 2020-12 keyword and is ignored, so null was rejected; "
        '3.1 spells it as a "null" type.',
    },
    {
        "rule": "nullable: true with enum -> null added to enum",
        "reason": "An enum restricts values on its own, so null must be listed for the added "
        '"null" type to admit it.',
    },
    {
        "rule": "nullable: true without a plain type -> anyOf [schema, {type: null}]",
        "reason": "With no type (or with $ref/allOf/anyOf/oneOf/not/const beside it) only a "
        "separate branch can admit null.",
    },
    {
        "rule": "nullable: false -> dropped",
        "reason": "3.0 nullable: false is the default and has no 2020-12 meaning.",
    },
    {
        "rule": "exclusiveMinimum: true + minimum: m -> exclusiveMinimum: m",
        "reason": "3.0 boolean modifier; 2020-12 reads true as the number 1 (rejecting e.g. 0.5) "
        "and wants the bound itself.",
    },
    {
        "rule": "exclusiveMaximum: true + maximum: m -> exclusiveMaximum: m",
        "reason": "3.0 boolean modifier; 2020-12 reads true as the number 1 and wants the bound itself.",
    },
    {
        "rule": "exclusiveMinimum/exclusiveMaximum: false -> dropped",
        "reason": "3.0 boolean modifier meaning an inclusive bound, which minimum/maximum already "
        "say; 2020-12 would read false as the number 0.",
    },
)
_NULLABLE_TYPE, _NULLABLE_ENUM, _NULLABLE_ANYOF, _NULLABLE_FALSE, _EXCL_MIN, _EXCL_MAX, _EXCL_FALSE = (
    rule["rule"] for rule in NORMALIZATIONS
)

# Where JSON Schema nests subschemas; the pass walks only these, so example/default/enum values
# and property names are never rewritten.
_SUBSCHEMA = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# Keywords that cannot simply gain "null" in type, so a nullable schema holding one is wrapped.
_NEEDS_WRAP = ("$ref", "allOf", "anyOf", "oneOf", "not", "const")
# Annotations that stay on the wrapper rather than moving into its first branch.
_ANNOTATIONS = (
    "title",
    "description",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
)


def _normalize_nullable(schema: dict, counts: Counter) -> None:
    nullable = schema.pop("nullable")
    if nullable is False:
        counts[_NULLABLE_FALSE] += 1
        return
    if nullable is not True:
        raise ValueError(f"non-boolean nullable {nullable!r}")
    schema_type = schema.get("type")
    if isinstance(schema_type, (str, list)) and not any(key in schema for key in _NEEDS_WRAP):
        types = [schema_type] if isinstance(schema_type, str) else list(schema_type)
        if "null" not in types:
            schema["type"] = [*types, "null"]
        counts[_NULLABLE_TYPE] += 1
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
            counts[_NULLABLE_ENUM] += 1
        return
    kept = {key: schema.pop(key) for key in list(schema) if key in _ANNOTATIONS or key.startswith("x-")}
    branch = dict(schema)
    schema.clear()
    schema.update(kept)
    schema["anyOf"] = [branch, {"type": "null"}]
    counts[_NULLABLE_ANYOF] += 1


def _normalize_exclusive(schema: dict, keyword: str, bound: str, rule: str, counts: Counter) -> None:
    value = schema[keyword]
    if value is False:
        del schema[keyword]
        counts[_EXCL_FALSE] += 1
    elif value is True:
        if bound not in schema:
            raise ValueError(f"{keyword}: true without {bound}")
        schema[keyword] = schema.pop(bound)
        counts[rule] += 1


def _normalize(schema: object, counts: Counter) -> None:
    """Rewrite the OpenAPI 3.0 keywords in schema and all its subschemas in place."""
    if not isinstance(schema, dict):
        return  # boolean schemas
    if "nullable" in schema:
        _normalize_nullable(schema, counts)
    if "exclusiveMinimum" in schema:
        _normalize_exclusive(schema, "exclusiveMinimum", "minimum", _EXCL_MIN, counts)
    if "exclusiveMaximum" in schema:
        _normalize_exclusive(schema, "exclusiveMaximum", "maximum", _EXCL_MAX, counts)
    for key in _SUBSCHEMA:
        if key in schema:
            # 3.0-era tuple-style items may be a list.
            for sub in schema[key] if isinstance(schema[key], list) else [schema[key]]:
                _normalize(sub, counts)
    for key in _SUBSCHEMA_LISTS:
        for sub in schema.get(key, ()):
            _normalize(sub, counts)
    for key in _SUBSCHEMA_MAPS:
        for sub in schema.get(key, {}).values():
            _normalize(sub, counts)


def _apply_normalizations(schemas: dict) -> list:
    counts: Counter = Counter()
    for name in sorted(schemas):
        _normalize(schemas[name], counts)
    return [{**rule, "count": counts[rule["rule"]]} for rule in NORMALIZATIONS]


def _refs(node: object):
    """Yield every schema name referenced anywhere inside node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(REF_PREFIX):
                raise ValueError(f"unsupported $ref {ref!r}")
            yield ref[len(REF_PREFIX) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _collect(all_schemas: dict) -> dict:
    picked: dict = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name not in picked:
            picked[name] = all_schemas[name]
            pending.extend(_refs(picked[name]))
    return picked


def _apply_deviations(schemas: dict) -> None:
    for deviation in DEVIATIONS:
        *parents, key = deviation["pointer"].split("/")[1:]
        node = schemas[deviation["schema"]]
        for part in parents:
            node = node[part]
        if node[key] != deviation["from"]:
            raise ValueError(f"spec changed under deviation {deviation['schema']}{deviation['pointer']}")
        node[key] = deviation["to"]


def build_subset(source: Path) -> str:
    """Return the subset document as the exact text written to OUTPUT."""
    raw = source.read_bytes()
    spec = yaml.load(raw, Loader=yaml.CSafeLoader)
    schemas = _collect(spec["components"]["schemas"])
    for name, (path, method) in INLINE_RESPONSES.items():
        response = spec["paths"][path][method]["responses"]["200"]
        schemas[name] = response["content"]["application/json"]["schema"]
    _apply_deviations(schemas)
    normalizations = _apply_normalizations(schemas)
    document = {
        "x-source": {
            "file": source.name,
            "info_version": spec["info"]["version"],
            "sha256": hashlib.sha256(raw).hexdigest(),
            "roots": sorted(ROOTS),
            "inline_responses": INLINE_RESPONSES,
        },
        "x-ftgate-deviations": list(DEVIATIONS),
        "x-ftgate-normalizations": normalizations,
        "components": {"schemas": schemas},
    }
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(build_subset(source), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main(sys.argv)
