import copy
import importlib.util
import json
from pathlib import Path

import pytest

from tests.support.spec import SUBSET, assert_matches_schema, schema_names

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "extract_openapi_subset.py"

JOB = {
    "object": "fine_tuning.job",
    "id": "ftjob-abc123",
    "model": "gpt-4o-mini-2024-07-18",
    "created_at": 1721764800,
    "finished_at": None,
    "fine_tuned_model": None,
    "organization_id": "org-123",
    "result_files": [],
    "status": "validating_files",
    "validation_file": None,
    "training_file": "file-abc123",
    "hyperparameters": {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"},
    "method": {
        "type": "supervised",
        "supervised": {
            "hyperparameters": {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"}
        },
    },
    "trained_tokens": None,
    "error": None,
    "integrations": [],
    "seed": 683058546,
    "estimated_finish": None,
    "metadata": None,
}


def job(**changes) -> dict:
    body = copy.deepcopy(JOB)
    body.update(changes)
    return body


def test_valid_fine_tuning_job_passes():
    assert_matches_schema(JOB, "FineTuningJob")


def test_paused_status_is_the_recorded_deviation():
    assert_matches_schema(job(status="paused"), "FineTuningJob")


def test_extra_properties_are_allowed_as_the_spec_says():
    assert_matches_schema(job(user_provided_suffix=None), "FineTuningJob")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({k: v for k, v in JOB.items() if k != "seed"}, "'seed' is a required property"),
        (job(created_at="1721764800"), "$.created_at"),
        (job(object="job"), "$.object"),
        (job(status="bogus"), "$.status"),
    ],
    ids=["missing-seed", "created_at-string", "wrong-object", "bogus-status"],
)
def test_invalid_fine_tuning_job_fails(body, expected):
    with pytest.raises(AssertionError, match="FineTuningJob") as failure:
        assert_matches_schema(body, "FineTuningJob")
    assert expected in str(failure.value)


def test_failure_reports_every_error():
    body = job(status="bogus", object="job")
    with pytest.raises(AssertionError) as failure:
        assert_matches_schema(body, "FineTuningJob")
    message = str(failure.value)
    assert "(2 errors)" in message
    assert "$.status" in message and "$.object" in message


def test_event_list_passes():
    body = {
        "object": "list",
        "data": [
            {
                "object": "fine_tuning.job.event",
                "id": "ftevent-abc123",
                "created_at": 1721764800,
                "level": "info",
                "message": "Validating training file: file-abc123",
                "data": {},
                "type": "message",
            }
        ],
        "has_more": False,
    }
    assert_matches_schema(body, "ListFineTuningJobEventsResponse")


def test_file_object_passes():
    body = {
        "object": "file",
        "id": "file-abc123",
        "bytes": 120000,
        "created_at": 1677610602,
        "expires_at": None,
        "filename": "mydata.jsonl",
        "purpose": "fine-tune",
        "status": "processed",
    }
    assert_matches_schema(body, "OpenAIFile")


def test_checkpoint_list_passes():
    checkpoint = {
        "object": "fine_tuning.job.checkpoint",
        "id": "ftckpt_zc4Q7MP6XxulcVzj4MZdwsAB",
        "created_at": 1721764867,
        "fine_tuned_model_checkpoint": (
            "ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:96olL566:ckpt-step-2000"
        ),
        "fine_tuning_job_id": "ftjob-abc123",
        "metrics": {"step": 2000, "train_loss": 0.12, "train_mean_token_accuracy": 0.95},
        "step_number": 2000,
    }
    body = {
        "object": "list",
        "data": [checkpoint],
        "first_id": checkpoint["id"],
        "last_id": checkpoint["id"],
        "has_more": False,
    }
    assert_matches_schema(body, "ListFineTuningJobCheckpointsResponse")


def test_error_envelope_passes():
    body = {"error": {"message": "No such job", "type": "invalid_request_error", "param": None, "code": None}}
    assert_matches_schema(body, "ErrorResponse")


def test_model_passes():
    body = {
        "id": "ft:gpt-4o-mini-2024-07-18:org-123::abc123",
        "object": "model",
        "created": 1721764800,
        "owned_by": "org-123",
    }
    assert_matches_schema(body, "Model")


def _with_lr(body: dict, value) -> dict:
    body = copy.deepcopy(body)
    body["hyperparameters"]["learning_rate_multiplier"] = value
    body["method"]["supervised"]["hyperparameters"]["learning_rate_multiplier"] = value
    return body


JOB_REQUEST = {
    "model": "gpt-4o-mini-2024-07-18",
    "training_file": "file-abc123",
    "hyperparameters": {"learning_rate_multiplier": "auto"},
    "method": {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": "auto"}}},
}


@pytest.mark.parametrize("value", [0.5, 1, 2.0, "auto"])
def test_positive_learning_rate_multiplier_passes(value):
    # exclusiveMinimum: true + minimum: 0 (OpenAPI 3.0) must mean "> 0", not "> 1".
    assert_matches_schema(_with_lr(JOB, value), "FineTuningJob")
    assert_matches_schema(_with_lr(JOB_REQUEST, value), "CreateFineTuningJobRequest")


@pytest.mark.parametrize("value", [0, 0.0, -1])
def test_non_positive_learning_rate_multiplier_fails(value):
    for body, name in (
        (_with_lr(JOB, value), "FineTuningJob"),
        (_with_lr(JOB_REQUEST, value), "CreateFineTuningJobRequest"),
    ):
        with pytest.raises(AssertionError) as failure:
            assert_matches_schema(body, name)
        message = str(failure.value)
        assert "(2 errors)" in message
        assert "$.hyperparameters.learning_rate_multiplier" in message
        assert "$.method.supervised.hyperparameters.learning_rate_multiplier" in message


def test_fine_tuning_job_request_accepts_nulls():
    body = dict(JOB_REQUEST, seed=None, suffix=None, validation_file=None, integrations=None)
    assert_matches_schema(body, "CreateFineTuningJobRequest")


def test_fine_tuning_job_request_still_types_seed():
    with pytest.raises(AssertionError, match=r"\$\.seed"):
        assert_matches_schema(dict(JOB_REQUEST, seed="42"), "CreateFineTuningJobRequest")


CHUNK = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1694268190,
    "model": "gpt-4o-mini",
    "service_tier": "default",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ],
    "usage": None,
    "obfuscation": "r4N7vQ2m",
}


def chunk(**changes) -> dict:
    body = copy.deepcopy(CHUNK)
    body.update(changes)
    return body


def test_stream_chunks_with_null_finish_reason_and_logprobs_pass():
    assert_matches_schema(CHUNK, "CreateChatCompletionStreamResponse")
    content = chunk(
        choices=[{"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}]
    )
    assert_matches_schema(content, "CreateChatCompletionStreamResponse")


def test_final_stream_chunk_passes():
    final = chunk(choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
    assert_matches_schema(final, "CreateChatCompletionStreamResponse")
    usage = chunk(choices=[], usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21})
    assert_matches_schema(usage, "CreateChatCompletionStreamResponse")


def test_stream_chunk_still_rejects_unknown_finish_reason():
    bad = chunk(choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "done"}])
    with pytest.raises(AssertionError, match=r"\$\.choices\[0\]\.finish_reason"):
        assert_matches_schema(bad, "CreateChatCompletionStreamResponse")


def test_chat_completion_response_passes():
    body = {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! How can I help?",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1117,
            "completion_tokens": 46,
            "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }
    assert_matches_schema(body, "CreateChatCompletionResponse")


def _openapi_30_keywords(node: object, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("nullable"), bool):
            found.append(f"{path}/nullable")
        for keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(node.get(keyword), bool):
                found.append(f"{path}/{keyword}")
        for key, value in node.items():
            found += _openapi_30_keywords(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _openapi_30_keywords(value, f"{path}/{index}")
    return found


def test_subset_has_no_openapi_30_keywords_left():
    document = json.loads(SUBSET.read_text(encoding="utf-8"))
    assert _openapi_30_keywords(document["components"]) == []
    normalizations = document["x-ftgate-normalizations"]
    assert [entry["rule"] for entry in normalizations] == [
        rule["rule"] for rule in _load_script().NORMALIZATIONS
    ]
    assert all(isinstance(entry["count"], int) and entry["reason"] for entry in normalizations)
    assert sum(entry["count"] for entry in normalizations) > 0


def test_normalization_rules_on_a_synthetic_schema():
    script = _load_script()
    schemas = {
        "S": {
            "type": "object",
            "nullable": False,
            "properties": {
                "typed": {"type": "string", "enum": ["a"], "nullable": True},
                "listed": {"type": ["integer", "null"], "nullable": True},
                "ref": {"$ref": "#/components/schemas/T", "nullable": True, "description": "d"},
                "untyped": {"nullable": True, "enum": [1]},
                "nested": {
                    "items": {
                        "anyOf": [{"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": True}]
                    }
                },
                "inclusive": {"type": "number", "minimum": 0, "exclusiveMinimum": False},
                "nullable": {"type": "string"},  # a property named nullable is no keyword
            },
            "example": {"nullable": True, "exclusiveMinimum": True},  # examples are data
        }
    }
    counts = {entry["rule"]: entry["count"] for entry in script._apply_normalizations(schemas)}
    props = schemas["S"]["properties"]
    assert "nullable" not in schemas["S"] and schemas["S"]["example"] == {
        "nullable": True,
        "exclusiveMinimum": True,
    }
    assert props["typed"] == {"type": ["string", "null"], "enum": ["a", None]}
    assert props["listed"] == {"type": ["integer", "null"]}
    assert props["ref"] == {
        "description": "d",
        "anyOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}],
    }
    assert props["untyped"] == {"anyOf": [{"enum": [1]}, {"type": "null"}]}
    assert props["nested"]["items"]["anyOf"][0] == {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
    assert props["inclusive"] == {"type": "number", "minimum": 0}
    assert props["nullable"] == {"type": "string"}
    assert list(counts.values()) == [2, 1, 2, 1, 0, 1, 1]


def test_exclusive_minimum_true_without_minimum_is_an_error():
    with pytest.raises(ValueError, match="exclusiveMinimum"):
        _load_script()._apply_normalizations({"S": {"type": "number", "exclusiveMinimum": True}})


def test_schema_names_cover_the_roots():
    assert {"FineTuningJob", "ErrorResponse", "CreateChatCompletionStreamResponse"} <= set(schema_names())


def test_unknown_schema_name_is_rejected():
    with pytest.raises(KeyError, match="NoSuchSchema"):
        assert_matches_schema({}, "NoSuchSchema")


def _load_script():
    spec = importlib.util.spec_from_file_location("extract_openapi_subset", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_committed_subset_matches_the_script_output():
    script = _load_script()
    if not script.DEFAULT_SOURCE.exists():
        pytest.skip(f"source spec not found at {script.DEFAULT_SOURCE} (no ../shared beside the repo)")
    assert SUBSET.read_text(encoding="utf-8") == script.build_subset(script.DEFAULT_SOURCE), (
        "openapi/openai-subset.json is stale: run scripts/extract_openapi_subset.py"
    )
