"""Which spec schema each of ftgate's OpenAI-shaped responses must match, checked on the wire."""

import json
import re

import httpx2

from tests.support.spec import assert_matches_schema

ID = r"[^/]+"
ROUTES: list[tuple[str, re.Pattern[str], str | None]] = [
    ("POST", re.compile(r"/v1/files"), "OpenAIFile"),
    ("GET", re.compile(r"/v1/files"), "ListFilesResponse"),
    ("GET", re.compile(rf"/v1/files/{ID}"), "OpenAIFile"),
    ("DELETE", re.compile(rf"/v1/files/{ID}"), "DeleteFileResponse"),
    ("GET", re.compile(rf"/v1/files/{ID}/content"), None),
    ("GET", re.compile(rf"/v1/files/{ID}/validation"), None),
    ("GET", re.compile(rf"/v1/files/{ID}/quote"), None),
    ("POST", re.compile(r"/v1/uploads"), "Upload"),
    ("POST", re.compile(rf"/v1/uploads/{ID}/parts"), "UploadPart"),
    ("POST", re.compile(rf"/v1/uploads/{ID}/(complete|cancel)"), "Upload"),
    ("POST", re.compile(r"/v1/fine_tuning/jobs"), "FineTuningJob"),
    ("GET", re.compile(r"/v1/fine_tuning/jobs"), "ListPaginatedFineTuningJobsResponse"),
    ("GET", re.compile(rf"/v1/fine_tuning/jobs/{ID}"), "FineTuningJob"),
    ("POST", re.compile(rf"/v1/fine_tuning/jobs/{ID}/(cancel|pause|resume)"), "FineTuningJob"),
    ("GET", re.compile(rf"/v1/fine_tuning/jobs/{ID}/events"), "ListFineTuningJobEventsResponse"),
    ("GET", re.compile(rf"/v1/fine_tuning/jobs/{ID}/checkpoints"), "ListFineTuningJobCheckpointsResponse"),
    ("GET", re.compile(r"/v1/models"), "ListModelsResponse"),
    ("GET", re.compile(r"/v1/base_models"), None),
    ("GET", re.compile(r"/v1/models/.+/weights"), None),
    ("GET", re.compile(r"/v1/models/.+"), "Model"),
    ("DELETE", re.compile(r"/v1/models/.+"), "DeleteModelResponse"),
    ("POST", re.compile(r"/v1/chat/completions"), "CreateChatCompletionResponse"),
    ("POST", re.compile(r"/v1/fine_tuning/alpha/graders/run"), "RunGraderResponse"),
    ("POST", re.compile(r"/v1/fine_tuning/alpha/graders/validate"), "ValidateGraderResponse"),
    ("POST", re.compile(r"/v1/evals"), "Eval"),
    ("GET", re.compile(r"/v1/evals"), "EvalList"),
    ("GET", re.compile(rf"/v1/evals/{ID}"), "Eval"),
    ("POST", re.compile(rf"/v1/evals/{ID}"), "Eval"),
    ("DELETE", re.compile(rf"/v1/evals/{ID}"), "DeleteEvalResponse"),
    ("POST", re.compile(rf"/v1/evals/{ID}/runs"), "EvalRun"),
    ("GET", re.compile(rf"/v1/evals/{ID}/runs"), "EvalRunList"),
    ("GET", re.compile(rf"/v1/evals/{ID}/runs/{ID}"), "EvalRun"),
    ("POST", re.compile(rf"/v1/evals/{ID}/runs/{ID}(/cancel)?"), "EvalRun"),
    ("DELETE", re.compile(rf"/v1/evals/{ID}/runs/{ID}"), "DeleteEvalRunResponse"),
    ("GET", re.compile(rf"/v1/evals/{ID}/runs/{ID}/output_items"), "EvalRunOutputItemList"),
    ("GET", re.compile(rf"/v1/evals/{ID}/runs/{ID}/output_items/{ID}"), "EvalRunOutputItem"),
]
# A route's schema for each event of a `text/event-stream` response.
STREAM_SCHEMAS = {"CreateChatCompletionResponse": "CreateChatCompletionStreamResponse"}


def schema_for(method: str, path: str, status: int) -> str | None:
    if status >= 400:
        return "ErrorResponse"
    for route_method, pattern, schema in ROUTES:
        if route_method == method and pattern.fullmatch(path):
            return schema
    raise AssertionError(f"no schema known for {method} {path}")


class WireChecker:
    """An httpx2 response hook: every response must carry x-request-id and match its schema.

    Failures are recorded (the SDK would wrap an exception raised in a hook) and the fixture
    that owns the checker asserts there were none.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked = 0

    def __call__(self, response: httpx2.Response) -> None:
        response.read()
        request = response.request
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        try:
            assert response.headers.get("x-request-id", "").startswith("req_"), "missing x-request-id"
            schema = schema_for(request.method, request.url.path, response.status_code)
            if schema is not None and response.headers.get("content-type", "").startswith(
                "text/event-stream"
            ):
                check_event_stream(response.text, STREAM_SCHEMAS[schema])
            elif schema is not None:
                assert_matches_schema(json.loads(response.content), schema)
            self.checked += 1
        except AssertionError as failure:
            self.failures.append(f"{where}: {failure}")


def check_event_stream(text: str, schema: str) -> None:
    """OpenAI's SSE: `data: {json}` events, each matching `schema` (or an error event, which
    ends the stream), and a final `data: [DONE]`."""
    events = [event for event in text.split("\n\n") if event.strip()]
    assert events, "empty event stream"
    assert events[-1] == "data: [DONE]" or "error" in json.loads(events[-1].removeprefix("data: ")), (
        f"stream does not end with data: [DONE]: {events[-1]!r}"
    )
    for event in events[:-1] if events[-1] == "data: [DONE]" else events:
        assert event.startswith("data: ") and "\n" not in event, f"not a single data line: {event!r}"
        body = json.loads(event.removeprefix("data: "))
        assert_matches_schema(body, "ErrorResponse" if "error" in body else schema)
