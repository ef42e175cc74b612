"""The served OpenAPI document holds for every operation: schemathesis against a live server.

Schemathesis loads the document from the running server (`/openapi.json`) and runs its examples,
coverage, fuzzing and stateful phases with every check it has (no 5xx, status codes, content
types, headers and bodies as declared, 405s with `Allow`, invalid data refused, valid data
accepted, ...). The run is deterministic (a fixed seed, derandomized) and bounded per operation.

/v1 authenticates with a project's key, /admin with the operator's. Hooks steer some generated
values to objects that exist, so that successes are tested too, not only 404s: path ids become
a real file, job, upload, project, key or webhook endpoint part of the time, job bodies name a real
training file, and chat bodies name the local tiny model with a small `max_tokens`, so generation
stays cheap. Admin operations act on a project of their own, never on the one the /v1 cases use.
"""

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.engine import Status, events

from tests.conftest import TINY_MODEL
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.jobs import chat_lines
from tests.support.server import RunningServer

pytestmark = pytest.mark.schemathesis

MAX_EXAMPLES = int(os.environ.get("FTGATE_SCHEMATHESIS_EXAMPLES", "6"))  # per operation and phase
MIN_CASES = 1000
SEED = 20270106
MAX_GENERATED_TOKENS = 4
PARKED_MODEL = "gpt-4o-mini"  # its upstream is down (tests/support/parked.py): a job on it waits
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]  # schemathesis' own default


@dataclass(frozen=True)
class Objects:
    """What exists before the run: ids a hook may put in a path or a body."""

    project_key: str
    path_ids: dict[str, list[str]]
    training_file: str


@dataclass
class Totals:
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    succeeded: Counter[str] = field(default_factory=Counter)  # 2xx answers per operation
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def objects(server: RunningServer) -> Iterator[Objects]:
    key = server.create_key("schemathesis")
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        training_file = _ok(
            http.post(
                "/v1/files",
                files={"file": ("train.jsonl", chat_lines(12))},
                data={"purpose": "fine-tune"},
            )
        )["id"]
        # Five examples: the job fails while validating its files, so nothing trains during the run.
        small_file = _ok(
            http.post(
                "/v1/files", files={"file": ("small.jsonl", chat_lines(5))}, data={"purpose": "fine-tune"}
            )
        )["id"]
        job = _ok(http.post("/v1/fine_tuning/jobs", json={"model": TINY_MODEL, "training_file": small_file}))
        upload = _ok(
            http.post(
                "/v1/uploads",
                json={"filename": "up.jsonl", "purpose": "fine-tune", "bytes": 2, "mime_type": "text/jsonl"},
            )
        )
    admin = Admin(server.base_url)
    try:
        project = admin.create_project("schemathesis-admin-target")
        target_key = admin.create_key(project["id"], "target")
        endpoint = admin.call(
            "POST", f"/projects/{project['id']}/webhooks", json={"url": "http://127.0.0.1:9/hook"}
        )
    finally:
        admin.close()
    yield Objects(
        project_key=key,
        path_ids={
            "file_id": [training_file, small_file],
            "fine_tuning_job_id": [job["id"]],
            "upload_id": [upload["id"]],
            "model": [TINY_MODEL],
            "project_id": [project["id"]],
            "key_id": [target_key["id"]],
            "endpoint_id": [endpoint["id"]],
        },
        training_file=training_file,
    )


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def load_schema(server: RunningServer, objects: Objects) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": server.base_url,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "request-timeout": 30,
            # ftgate answers every deterministic refusal that the document cannot express (an
            # unknown `after` cursor or referenced file, a job state transition, a file's purpose
            # against its name, a role's required fields) with 400, as OpenAI does and never 409,
            # which the SDK retries: for schema-valid data, 400 is expected besides the defaults.
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}},
            "auth": {
                "openapi": {"ProjectKey": {"bearer": objects.project_key}, "AdminKey": {"bearer": ADMIN_KEY}}
            },
        }
    )
    document = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document, config=config)
    chat_body = jsonschema.Draft202012Validator(
        {**document, "$ref": "#/components/schemas/ChatCompletionParams"}
    )
    job_body = jsonschema.Draft202012Validator({**document, "$ref": "#/components/schemas/JobCreateParams"})
    _steer(schema, objects, chat_body.is_valid, job_body.is_valid)
    return schema


def _steer(
    schema: schemathesis.BaseSchema,
    objects: Objects,
    valid_chat: Callable[[Any], bool],
    valid_job: Callable[[Any], bool],
) -> None:
    """Hooks that send generated requests to existing objects part of the time; a body generated
    to be refused stays as it is."""

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
        choices = {
            name: st.sampled_from([value, *objects.path_ids[name]])
            for name, value in (path_parameters or {}).items()
            if name in objects.path_ids
        }
        if not choices:
            return st.just(path_parameters)
        return st.fixed_dictionaries(choices).map(lambda chosen: {**path_parameters, **chosen})

    @schema.hook("flatmap_body").apply_to(method="POST", path="/v1/fine_tuning/jobs")
    def real_training_file(context: Any, body: Any) -> st.SearchStrategy:
        """The generated body, or the same on the real training file; first a plain job on it
        for a parked model (it waits in `queued`, costing nothing), which a derandomized run
        favours, so that a success is reached whatever the generated bodies hold."""
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("training_file"), str)
            or not valid_job(body)
        ):
            return st.just(body)
        plain = {"model": PARKED_MODEL, "training_file": objects.training_file}
        return st.sampled_from([plain, body, {**body, "training_file": objects.training_file}])

    @schema.hook("flatmap_body").apply_to(method="POST", path="/v1/chat/completions")
    def local_model(context: Any, body: Any) -> st.SearchStrategy:
        """The generated body, the same on the tiny model, or a plain question to it; a body
        generated to be refused stays as it is."""
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not valid_chat(body):
            return st.just(body)
        question = {"model": TINY_MODEL, "messages": [{"role": "user", "content": "Tell me about Gallium"}]}
        # The plain question first: a derandomized run favours the first choice, and the generated
        # bodies alone may all be ones the server refuses for reasons the document cannot state.
        return st.sampled_from(
            [question, body, {**body, "model": TINY_MODEL}, {**question, "stream": True}]
        ).map(_cheap)

    @schema.hook("flatmap_body").apply_to(method="POST", path="/admin/projects/{project_id}/openai_import")
    def no_parked_upstream(context: Any, body: Any) -> st.SearchStrategy:
        """An import never reads the parked `openai` upstream: it is down by design, and each read
        of it would be the 502 a down upstream gets (chats are steered off it likewise)."""
        if isinstance(body, dict) and body.get("upstream") == "openai":
            return st.just({**body, "upstream": "not-configured"})
        return st.just(body)


def _cheap(body: dict[str, Any]) -> dict[str, Any]:
    """A valid `max_tokens` stays valid when lowered; none at all becomes a small one."""
    limits = {
        name: MAX_GENERATED_TOKENS
        for name in ("max_tokens", "max_completion_tokens")
        if isinstance(body.get(name), int) and not isinstance(body[name], bool) and body[name] > 1
    }
    if not {"max_tokens", "max_completion_tokens"} & body.keys():
        limits["max_tokens"] = MAX_GENERATED_TOKENS
    return {**body, **limits}


def run(schema: schemathesis.BaseSchema) -> Totals:
    totals = Totals()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            _count(totals, event.recorder)
        elif isinstance(event, events.NonFatalError):
            totals.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            totals.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            totals.failures.extend(f"after the run: {failure.title}" for failure in event.failures)
    return totals


def _count(totals: Totals, recorder: Any) -> None:
    totals.cases += len(recorder.cases)
    for node in recorder.cases.values():
        operation = node.value.operation.label
        totals.operations.add(operation)
        response = recorder.find_response(case_id=node.value.id)
        if response is not None and 200 <= response.status_code < 300:
            totals.succeeded[operation] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                info = check.failure_info
                response = recorder.find_response(case_id=case_id)
                answer = f"{response.status_code} {response.content[:300]!r}" if response else "no response"
                totals.failures.append(
                    f"{recorder.label} [{check.name}] {info.failure.title}: {info.failure.message}\n"
                    f"{info.code_sample}\n-> {answer}"
                )


def test_every_operation_conforms_to_the_document(server: RunningServer, objects: Objects):
    schema = load_schema(server, objects)
    started = time.monotonic()
    totals = run(schema)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {totals.cases} cases, {len(totals.failures)} failures, {elapsed:.0f}s")
    print("2xx answers:", dict(sorted(totals.succeeded.items())))
    problems = totals.errors + sorted(set(totals.failures))
    assert not problems, f"{len(problems)} errors and failures:\n\n" + "\n\n".join(problems)
    operations = {
        f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item
    }
    assert operations <= totals.operations, sorted(operations - totals.operations)
    # Not only refusals: uploads (multipart), job creation and chat with the local model succeeded.
    for operation in ("POST /v1/files", "POST /v1/fine_tuning/jobs", "POST /v1/chat/completions"):
        assert totals.succeeded[operation] > 0, (operation, totals.succeeded)
    assert totals.cases >= MIN_CASES, totals.cases


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/files", "GET, POST"),
        ("POST", "/v1/models/tiny-chat", "DELETE, GET"),
        ("DELETE", "/v1/models/ft:tiny-chat:acme::x/weights", "GET"),
        ("GET", "/v1/chat/completions", "POST"),
        ("PATCH", "/admin/projects", "GET, POST"),
        ("PUT", "/dashboard", "GET, HEAD"),
    ],
)
def test_405_names_every_method_the_path_serves(server: RunningServer, method: str, path: str, allow: str):
    # With a valid key: authentication may come first, before the route is looked up.
    key = ADMIN_KEY if path.startswith("/admin/") else server.create_key("allow-header")
    headers = {"authorization": f"Bearer {key}"}
    response = httpx.request(method, f"{server.base_url}{path}", headers=headers, timeout=30)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["type"] == "invalid_request_error"
