"""A serving engine's state: its base model, the adapters it holds, and what it was asked."""

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from tests.support.fake_upstream.errors import ApiError
from tests.support.fake_upstream.scripted import ScriptedFake, ScriptedUpstream
from tests.support.fake_upstream.server import Endpoint, Request, Response, Routes


class ServedModels(ScriptedUpstream):
    """`adapters`: name -> path, in load order. `max_loaded`: the most adapters it takes (SGLang's
    --max-loaded-loras; None: no limit, as vLLM's registry). `stale_listings`: how many of the
    next /v1/models answers list no adapter, as a listing read just before another replica's load.
    `bodies`: the chat requests, as sent. `mounts`: see `unloadable`."""

    def __init__(
        self, base: str, max_lora_rank: int, max_loaded: int | None, mounts: dict[str, Path]
    ) -> None:
        self.base = base
        self.max_lora_rank = max_lora_rank
        self.max_loaded = max_loaded
        self.mounts = mounts
        super().__init__(step_seconds=0.0, phase_seconds=0.0)

    def reset(self) -> None:
        super().reset()
        self.adapters: dict[str, str] = {}
        self.loads: list[str] = []
        self.unloads: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.stale_listings = 0

    def listed(self) -> dict[str, str]:
        if self.stale_listings:
            self.stale_listings -= 1
            return {}
        return self.adapters

    def unloadable(self, path: str) -> str | None:
        """Why the server cannot load the adapter at `path` (seen through `mounts`: where the
        server sees a folder of the test's machine), as the server itself checks."""
        for seen, real in self.mounts.items():
            if path.startswith(seen + "/"):
                path = str(real) + path.removeprefix(seen)
        config = Path(path) / "adapter_config.json"
        if not config.is_file():
            return f"No adapter found for {path}"
        rank = json.loads(config.read_text()).get("r", 0)
        if rank > self.max_lora_rank:
            return f"LoRA rank {rank} is greater than max_lora_rank {self.max_lora_rank}."
        return None


class EngineApi(ABC):
    """An engine's HTTP API over `state`: a bearer key checked first, then its dialect's
    `endpoints` (method, path pattern, endpoint)."""

    def __init__(self, state: ServedModels, api_key: str) -> None:
        self.state = state
        self.api_key = api_key
        self.routes = Routes(self.endpoints())

    @abstractmethod
    def endpoints(self) -> list[tuple[str, str, Endpoint]]: ...

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response(401, {"error": "Unauthorized"})
        found = self.routes.find(request)
        if found is None:
            return Response(404, {"detail": "Not Found"})
        endpoint, names = found
        try:
            return endpoint(request, **names)
        except ApiError as error:
            return error.response()


class FakeEngine(ScriptedFake):
    """A served engine's fake, serving its dialect's `engine_api`; `root_url` is what ftgate's
    `base_url` names."""

    engine_api: type[EngineApi]
    default_key: str
    _upstream: ServedModels

    def __init__(
        self,
        base: str,
        *,
        api_key: str | None = None,
        max_lora_rank: int = 16,
        max_loaded: int | None = None,
        mounts: dict[str, Path] | None = None,
    ) -> None:
        key = api_key or self.default_key
        state = ServedModels(base, max_lora_rank, max_loaded, mounts or {})
        super().__init__(key, state, self.engine_api(state, key))

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def adapters(self) -> dict[str, str]:
        return self._call(lambda: dict(self._upstream.adapters))

    @property
    def loads(self) -> list[str]:
        """The adapter names it was asked to load, taken or refused, in order."""
        return self._call(lambda: list(self._upstream.loads))

    @property
    def unloads(self) -> list[str]:
        return self._call(lambda: list(self._upstream.unloads))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return self._call(lambda: [dict(body) for body in self._upstream.bodies])

    def unload(self, name: str) -> None:
        """Drop an adapter, as another replica of ftgate does when it evicts one."""
        self._call(self._upstream.adapters.pop, name)

    def preload(self, name: str, path: str) -> None:
        """Hold an adapter, as loaded by another replica of ftgate or by the operator."""
        self._call(self._upstream.adapters.__setitem__, name, path)

    def stale_listings(self, count: int) -> None:
        self._call(setattr, self._upstream, "stale_listings", count)
