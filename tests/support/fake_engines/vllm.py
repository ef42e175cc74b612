"""vLLM's OpenAI-compatible server, started with --enable-lora and
VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (vllm/entrypoints/openai/models/serving.py)."""

import time
from typing import Any

from tests.support.fake_upstream.errors import ApiError
from tests.support.fake_upstream.server import Endpoint, Request, Response

from . import answers
from .state import EngineApi, FakeEngine


def _error(status: int, message: str, type: str) -> ApiError:
    error = ApiError(status, message, type=type)
    error.error["code"] = status  # vLLM's `code` is the HTTP status
    return error


class VllmShapes:
    def choice(self, index: int, text: str, reason: str) -> dict[str, Any]:
        message = {
            "role": "assistant",
            "content": text,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": [],
            "reasoning_content": None,
        }
        return {
            "index": index,
            "message": message,
            "logprobs": None,
            "finish_reason": reason,
            "stop_reason": None,
        }

    def delta(self, index: int, delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason} | (
            {"stop_reason": None} if reason else {}
        )

    def usage(self, prompt: int, completion: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
            "completion_tokens": completion,
            "prompt_tokens_details": None,
        }

    def extra(self) -> dict[str, Any]:
        return {
            "service_tier": None,
            "system_fingerprint": None,
            "prompt_logprobs": None,
            "prompt_token_ids": None,
            "kv_transfer_params": None,
        }


class VllmApi(EngineApi):
    def endpoints(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/v1/models", self.models),
            ("POST", "/v1/load_lora_adapter", self.load),
            ("POST", "/v1/unload_lora_adapter", self.unload),
            ("POST", "/v1/chat/completions", self.chat),
        ]

    def models(self, request: Request) -> Response:
        created = int(time.time())
        base = {
            "id": self.state.base,
            "root": f"/models/{self.state.base}",
            "parent": None,
            "max_model_len": 4096,
        }
        cards = [base] + [
            {"id": name, "root": path, "parent": self.state.base, "max_model_len": None}
            for name, path in self.state.listed().items()
        ]
        data = [
            card | {"object": "model", "created": created, "owned_by": "vllm", "permission": []}
            for card in cards
        ]
        return Response(200, {"object": "list", "data": data})

    def load(self, request: Request) -> Response:
        body = request.json()
        name, path = body.get("lora_name"), body.get("lora_path")
        self.state.loads.append(str(name))
        if not name or not path:
            raise _error(400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput")
        if name in self.state.adapters and not body.get("load_inplace"):
            raise _error(
                400,
                f"The lora adapter '{name}' has already been loaded. If you want to load the adapter "
                "in place, set 'load_inplace' to True.",
                "InvalidUserInput",
            )
        if (why := self.state.unloadable(path)) is not None:
            raise _error(404 if why.startswith("No adapter") else 400, why, "BadRequestError")
        self.state.adapters[name] = path
        return Response(
            200,
            content=f"Success: LoRA adapter '{name}' added successfully.".encode(),
            content_type="text/plain",
        )

    def unload(self, request: Request) -> Response:
        name = request.json().get("lora_name")
        self.state.unloads.append(str(name))
        if name not in self.state.adapters:
            raise _error(404, f"The lora adapter '{name}' cannot be found.", "NotFoundError")
        del self.state.adapters[name]
        return Response(
            200,
            content=f"Success: LoRA adapter '{name}' removed successfully.".encode(),
            content_type="text/plain",
        )

    def chat(self, request: Request) -> Response:
        body = request.json()
        self.state.bodies.append(body)
        model = body.get("model")
        if model != self.state.base and model not in self.state.adapters:
            raise _error(404, f"The model `{model}` does not exist.", "NotFoundError")
        if body.get("stream"):
            return Response(200, stream=answers.chunks(body, VllmShapes()), content_type="text/event-stream")
        return Response(200, answers.completion(body, VllmShapes()))


class FakeVllm(FakeEngine):
    engine_api = VllmApi
    default_key = "vllm-key"
