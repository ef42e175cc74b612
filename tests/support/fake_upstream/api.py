"""The OpenAI-compatible /v1 endpoints: files, fine-tuning jobs and chat completions."""

import json
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from .errors import ApiError
from .lifecycle import Upstream, random_id
from .server import Request, Response, Routes

METADATA_FILTER = re.compile(r"metadata\[(.+)\]")
JOB = r"/v1/fine_tuning/jobs/(?P<job_id>[^/]+)"
FILE = r"/v1/files/(?P<file_id>[^/]+)"


def page(items: list[dict[str, Any]], request: Request, default_limit: int) -> dict[str, Any]:
    """One cursor page of `items` (already in list order): after the item with id `after`, at most `limit`."""
    try:
        limit = int(request.query.get("limit", default_limit))
    except ValueError:
        limit = 0
    if limit < 1:
        raise ApiError(400, f"Invalid limit: {request.query.get('limit')!r}", param="limit")
    if after := request.query.get("after"):
        index = next((i for i, item in enumerate(items) if item["id"] == after), len(items))
        items = items[index + 1 :]
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "emitted_at"}


def last_user_text(messages: list[dict[str, Any]]) -> str:
    content = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """With `tools` offered, a last user message `call NAME ARGS` makes the model call NAME with
    `{"input": ARGS}`."""
    words = last_user_text(body.get("messages") or []).split(" ", 2)
    if not body.get("tools") or len(words) < 2 or words[0] != "call":
        return None
    arguments = json.dumps({"input": words[2] if len(words) > 2 else ""})
    return {
        "id": random_id("call_"),
        "type": "function",
        "function": {"name": words[1], "arguments": arguments},
    }


def judged_score(body: dict[str, Any]) -> str | None:
    """Asked for a score (a JSON-schema response format with a numeric `result`), the scripted
    judge gives 1 when the last lines of the last user message's last two paragraphs agree (the
    reference and the candidate answer, as a judge prompt lays them out), else 0."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    if (schema.get("properties") or {}).get("result", {}).get("type") != "number":
        return None
    paragraphs = [p.strip() for p in last_user_text(body.get("messages") or []).split("\n\n") if p.strip()]
    agree = len(paragraphs) >= 2 and paragraphs[-1].splitlines()[-1] == paragraphs[-2].splitlines()[-1]
    return json.dumps({"steps": ["compared the two answers"], "result": 1 if agree else 0})


async def event_stream(chunks: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


class Api:
    def __init__(self, upstream: Upstream, api_key: str) -> None:
        self.upstream = upstream
        self.api_key = api_key
        self.routes = Routes(
            [
                ("POST", "/v1/files", self.create_file),
                ("GET", FILE, self.get_file),
                ("GET", FILE + "/content", self.file_content),
                ("POST", "/v1/fine_tuning/jobs", self.create_job),
                ("GET", "/v1/fine_tuning/jobs", self.list_jobs),
                ("GET", JOB, self.get_job),
                ("GET", JOB + "/events", self.list_events),
                ("GET", JOB + "/checkpoints", self.list_checkpoints),
                ("POST", JOB + "/(?P<action>cancel|pause|resume)", self.act),
                ("POST", "/v1/chat/completions", self.chat),
            ]
        )

    def handle(self, request: Request) -> Response:
        try:
            self.authenticate(request)
            return self.dispatch(self.routes, request)
        except ApiError as error:
            return error.response()

    @staticmethod
    def dispatch(routes: Routes, request: Request) -> Response:
        """The answer of the endpoint in `routes` for `request`; OpenAI's 404 where there is none."""
        found = routes.find(request)
        if found is None:
            raise ApiError(404, f"Invalid URL ({request.method} {request.path})")
        endpoint, named = found
        return endpoint(request, **named)

    def authenticate(self, request: Request) -> None:
        authorization = request.headers.get("authorization", "")
        if not authorization:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            raise ApiError(401, message)
        key = authorization.removeprefix("Bearer ")
        if key != self.api_key:
            masked = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
            message = (
                f"Incorrect API key provided: {masked}. "
                "You can find your API key at https://platform.openai.com/account/api-keys."
            )
            raise ApiError(401, message, code="invalid_api_key")

    @staticmethod
    def body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "We could not parse the JSON body of your request.")
        return body

    def create_file(self, request: Request) -> Response:
        form = request.form()
        for name in ("file", "purpose"):
            if name not in form:
                raise ApiError(400, f"Missing required parameter: '{name}'.", param=name)
        filename, content = form["file"]
        return Response(200, self.upstream.upload(filename or "file", form["purpose"][1].decode(), content))

    def get_file(self, request: Request, file_id: str) -> Response:
        return Response(200, self.upstream.file(file_id).info)

    def file_content(self, request: Request, file_id: str) -> Response:
        if self.upstream.file(file_id).info["purpose"] == "fine-tune":
            raise ApiError(400, "Not allowed to download files of purpose: fine-tune")
        return Response(
            200, content=self.upstream.file(file_id).content, content_type="application/octet-stream"
        )

    def create_job(self, request: Request) -> Response:
        return Response(200, self.upstream.create_job(self.body(request)).data)

    def list_jobs(self, request: Request) -> Response:
        wanted = {m.group(1): v for k, v in request.query.items() if (m := METADATA_FILTER.fullmatch(k))}
        jobs = [
            job.data
            for job in reversed(self.upstream.jobs.values())
            if not job.vanished and wanted.items() <= (job.data["metadata"] or {}).items()
        ]
        return Response(200, page(jobs, request, 20))

    def get_job(self, request: Request, job_id: str) -> Response:
        return Response(200, self.upstream.job(job_id).data)

    def list_events(self, request: Request, job_id: str) -> Response:
        result = page(self.upstream.job(job_id).events[::-1], request, 20)
        result["data"] = [public_event(event) for event in result["data"]]
        return Response(200, result)

    def list_checkpoints(self, request: Request, job_id: str) -> Response:
        result = page(self.upstream.job(job_id).checkpoints[::-1], request, 10)
        ids = [checkpoint["id"] for checkpoint in result["data"]] or [None]
        return Response(200, {**result, "first_id": ids[0], "last_id": ids[-1]})

    def act(self, request: Request, job_id: str, action: str) -> Response:
        return Response(200, self.upstream.act(job_id, action).data)

    def tool_call_answer(self, body: dict[str, Any], model: str, call: dict[str, Any]) -> Response:
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        head = {"id": random_id("chatcmpl-"), "created": int(time.time()), "model": model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}
            return Response(200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage})
        function = call["function"]
        half = len(function["arguments"]) // 2
        deltas = [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": function["arguments"][:half]},
                    }
                ],
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": function["arguments"][half:]}}]},
        ]
        chunk = {**head, "object": "chat.completion.chunk"}
        chunks = [
            {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas
        ]
        chunks.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**chunk, "choices": [], "usage": usage})
        return Response(200, stream=event_stream(chunks), content_type="text/event-stream")

    def chat(self, request: Request) -> Response:
        body = self.body(request)
        model = body.get("model")
        if not isinstance(model, str) or (model.startswith("ft:") and model not in self.upstream.models):
            message = f"The model '{model}' does not exist or you do not have access to it."
            raise ApiError(404, message, param="model", code="model_not_found")
        messages = body.get("messages") or []
        asked = last_user_text(messages)
        text = judged_score(body) or self.upstream.answers.get(asked) or f"[{model}] {asked}"
        call = tool_call(body)
        if call is not None:
            return self.tool_call_answer(body, model, call)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(text.split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        head = {
            "id": random_id("chatcmpl-"),
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fakeupstream",
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": text, "refusal": None}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            return Response(200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage})
        words = re.findall(r"\S+\s*", text)
        size = math.ceil(len(words) / 3)
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": "".join(words[i : i + size])} for i in range(0, len(words), size)]
        chunk = {**head, "object": "chat.completion.chunk"}
        chunks = [
            {**chunk, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
            for delta in deltas
        ]
        chunks.append(
            {**chunk, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**chunk, "choices": [], "usage": usage})
        return Response(200, stream=event_stream(chunks), content_type="text/event-stream")
