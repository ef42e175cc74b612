"""SGLang's server, started with --enable-lora (sglang/srt/entrypoints/http_server.py, its
tokenizer manager's load_lora_adapter and its LoRARegistry): LoRA endpoints outside /v1 that
answer `{"success", "error_message"}`, chats naming `base:adapter`."""

import time
from typing import Any

from tests.support.fake_upstream.server import Endpoint, Request, Response

from . import answers
from .state import EngineApi, FakeEngine


class SglangShapes:
    def choice(self, index: int, text: str, reason: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": text, "reasoning_content": None, "tool_calls": None}
        return {
            "index": index,
            "message": message,
            "logprobs": None,
            "finish_reason": reason,
            "matched_stop": None,
        }

    def delta(self, index: int, delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        shaped = {"role": None, "content": None, "reasoning_content": None, "tool_calls": None} | delta
        return {
            "index": index,
            "delta": shaped,
            "logprobs": None,
            "finish_reason": reason,
            "matched_stop": None,
        }

    def usage(self, prompt: int, completion: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
            "completion_tokens": completion,
            "prompt_tokens_details": None,
            "reasoning_tokens": 0,
        }

    def extra(self) -> dict[str, Any]:
        return {"metadata": {"weight_version": "default"}}


def _refused(message: str) -> Response:
    return Response(400, {"success": False, "error_message": message})


class SglangApi(EngineApi):
    def endpoints(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/v1/models", self.models),
            ("POST", "/load_lora_adapter", self.load),
            ("POST", "/unload_lora_adapter", self.unload),
            ("POST", "/v1/chat/completions", self.chat),
        ]

    def models(self, request: Request) -> Response:
        created = int(time.time())
        base = {"id": self.state.base, "root": self.state.base, "max_model_len": 4096}
        cards = [base] + [
            {"id": name, "root": path, "parent": self.state.base, "max_model_len": None}
            for name, path in self.state.listed().items()
        ]
        data = [card | {"object": "model", "created": created, "owned_by": "sglang"} for card in cards]
        return Response(200, {"object": "list", "data": data})

    def load(self, request: Request) -> Response:
        body = request.json()
        name, path = body.get("lora_name"), body.get("lora_path")
        self.state.loads.append(str(name))
        loaded = self.state.adapters
        if self.state.max_loaded is not None and len(loaded) >= self.state.max_loaded:
            return _refused(
                f"Cannot load LoRA adapter {name} at path {path}. Maximum number of loaded LoRA adapters is "
                f"{self.state.max_loaded}. Please unload some LoRA adapters before loading new ones."
            )
        if (why := self.state.unloadable(path)) is not None:
            return _refused(why)
        if name in loaded:
            return _refused(f"LoRA with name {name} already exists. Loaded LoRAs: dict_keys({list(loaded)})")
        loaded[name] = path
        return Response(200, {"success": True, "error_message": None, "loaded_adapters": dict(loaded)})

    def unload(self, request: Request) -> Response:
        name = request.json().get("lora_name")
        self.state.unloads.append(str(name))
        loaded = self.state.adapters
        if name not in loaded:
            return _refused(f"LoRA with name {name} does not exist. Loaded LoRAs: dict_keys({list(loaded)})")
        del loaded[name]
        return Response(200, {"success": True, "error_message": None, "loaded_adapters": dict(loaded)})

    def chat(self, request: Request) -> Response:
        body = request.json()
        self.state.bodies.append(body)
        base, _, adapter = str(body.get("model")).partition(":")
        if adapter and adapter not in self.state.adapters:
            message = (
                f"The following requested LoRA adapters are not loaded: {adapter}\n"
                f"Loaded adapters: dict_keys({list(self.state.adapters)})."
            )
            return Response(
                400, {"object": "error", "message": message, "type": "BadRequest", "param": None, "code": 400}
            )
        if body.get("stream"):
            return Response(
                200, stream=answers.chunks(body, SglangShapes()), content_type="text/event-stream"
            )
        return Response(200, answers.completion(body, SglangShapes()))


class FakeSglang(FakeEngine):
    engine_api = SglangApi
    default_key = "sglang-key"
