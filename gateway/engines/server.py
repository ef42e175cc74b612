"""A serving engine that ftgate drives over HTTP (vLLM, SGLang): chats go to its
/v1/chat/completions under the adapter's name there, and ftgate manages the adapters it holds.

An adapter is loaded when a chat needs it and the server's /v1/models does not list it; at
`max_loras` adapters, the least recently used is unloaded first. /v1/models is the truth that
every replica of ftgate reads: a replica keeps only what it last saw listed there and the order
in which its own chats used the adapters. Another replica may load the same adapter at the same
moment (its "already loaded" is success) or unload one between this replica's look and its chat
(the chat is refused as for an unknown model: the adapter is loaded again and the chat sent once
more). A server that is down, answers 5xx or does not answer in time is a 503 for the caller.
"""

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import anyio
import httpx

from gateway.engines.adapters import NAME_PREFIX, ServedAdapter, served_adapter, unservable
from gateway.engines.config import EngineSpec
from gateway.engines.reshape import reshaped
from gateway.errors import InvalidRequest, ServiceUnavailable
from gateway.providers.base import ChatReply, UpstreamError
from gateway.providers.config import UpstreamSpec
from gateway.providers.http import UpstreamHttp

log = logging.getLogger(__name__)

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


class AdapterServer(ABC):
    """What vLLM and SGLang share; each names its endpoints and reads its own refusals."""

    kind: ClassVar[str]
    load_path: ClassVar[str]
    unload_path: ClassVar[str]

    def __init__(
        self,
        base_model: str,
        spec: EngineSpec,
        adapters_dir: Path,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = f"the {self.kind} server of {base_model}"
        self.spec = spec
        self.served_model = spec.served_model or base_model
        self.adapters_dir = adapters_dir
        key = spec.api_key.get_secret_value() if spec.api_key is not None else ""
        http_spec = UpstreamSpec(
            name=self.kind,
            base_url=spec.root_url,
            api_key=key,
            timeout_seconds=spec.timeout_seconds,
            attempts=spec.attempts,
        )
        self.http = UpstreamHttp(http_spec, transport, auth={"authorization": f"Bearer {key}"} if key else {})
        # What this replica last saw loaded at the server, and its own use, least recent first.
        self._loaded: set[str] = set()
        self._used: OrderedDict[str, None] = OrderedDict()
        self._changing = asyncio.Lock()

    @abstractmethod
    def model_name(self, adapter: ServedAdapter | None) -> str:
        """The `model` of a chat with the base model or one of its adapters."""

    @abstractmethod
    def already_loaded(self, error: UpstreamError) -> bool: ...

    @abstractmethod
    def unknown_adapter(self, error: UpstreamError) -> bool:
        """Whether an unload was refused because the server does not hold the adapter."""

    @abstractmethod
    def adapter_missing(self, error: UpstreamError) -> bool:
        """Whether a chat was refused because the server does not hold its adapter."""

    def full(self, error: UpstreamError) -> bool:
        """Whether a load was refused because the server holds as many adapters as it takes."""
        return False

    async def chat(
        self, body: dict[str, Any], *, adapter: Path | None, model: str, fingerprint: str
    ) -> ChatReply:
        """`body` sent on for `adapter` (None: the base model), the answer naming `model`."""
        served = None if adapter is None else await self._served(adapter)
        for last_try in (False, True):
            if served is not None:
                await self._ensure(served, model)
            try:
                reply = await self.http.chat(body | {"model": self.model_name(served)}, CHAT_PATH)
            except UpstreamError as error:
                if served is not None and self.adapter_missing(error):
                    self._loaded.discard(served.name)
                    if not last_try:
                        continue
                    raise self._unavailable(model, "it unloaded the model's adapter again") from error
                if error.retryable:
                    raise self._unavailable(model, error.message) from error
                raise
            return reshaped(reply, model, fingerprint)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.http.close()

    async def _served(self, folder: Path) -> ServedAdapter:
        return await anyio.to_thread.run_sync(
            served_adapter, folder, self.adapters_dir, self.spec.adapter_root
        )

    async def _ensure(self, served: ServedAdapter, model: str) -> None:
        self._used[served.name] = None
        self._used.move_to_end(served.name)
        if served.name in self._loaded:
            return
        async with self._changing:
            listed = await self._listed(model)
            if served.name not in listed:
                await self._check(served, model)
                await self._unload_older_versions(listed, served, model)
                await self._load(listed, served, model)
            self._loaded = listed

    async def _listed(self, model: str) -> set[str]:
        """The adapters ftgate loaded that the server lists (not the operator's own)."""
        try:
            response = await self.http.request("GET", MODELS_PATH)
            cards = response.json()["data"]
            return {
                card["id"] for card in cards if card.get("parent") and str(card["id"]).startswith(NAME_PREFIX)
            }
        except UpstreamError as error:
            raise self._unavailable(model, error.message) from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise self._unavailable(model, f"its {MODELS_PATH} is unreadable") from error

    async def _check(self, served: ServedAdapter, model: str) -> None:
        why = await anyio.to_thread.run_sync(unservable, served.folder, self.spec.max_lora_rank)
        if why is not None:
            raise self._refused(model, why)

    async def _unload_older_versions(self, listed: set[str], served: ServedAdapter, model: str) -> None:
        for name in sorted(name for name in listed if name.startswith(served.family + "-")):
            await self._unload(name, model)
            listed.discard(name)

    async def _load(self, listed: set[str], served: ServedAdapter, model: str) -> None:
        """Load `served` after making room for it: at `max_loras`, and once more if the server
        says it is full (its own limit is lower, or another replica just loaded one)."""
        body = {"lora_name": served.name, "lora_path": served.server_path}
        for last_try in (False, True):
            while listed and (len(listed) >= self.spec.max_loras or last_try):
                victim = self._least_recently_used(listed)
                await self._unload(victim, model)
                listed.discard(victim)
                if last_try:
                    break
            try:
                await self.http.request("POST", self.load_path, json=body)
            except UpstreamError as error:
                if self.already_loaded(error):
                    break
                if self.full(error) and not last_try:
                    continue
                if error.retryable or self.full(error):
                    raise self._unavailable(model, error.message) from error
                raise self._refused(model, error.message) from error
            log.info("%s loaded %s from %s", self.name, served.name, served.server_path)
            break
        listed.add(served.name)

    async def _unload(self, name: str, model: str) -> None:
        try:
            await self.http.request("POST", self.unload_path, json={"lora_name": name})
        except UpstreamError as error:
            if error.retryable:
                raise self._unavailable(model, error.message) from error
            if not self.unknown_adapter(error):
                log.warning("%s did not unload %s: %s", self.name, name, error.message)
            return
        self._used.pop(name, None)
        log.info("%s unloaded %s", self.name, name)

    def _least_recently_used(self, listed: set[str]) -> str:
        """Adapters this replica never used count as the least recently used."""
        order = {name: rank for rank, name in enumerate(self._used)}
        return min(listed, key=lambda name: (order.get(name, -1), name))

    def _unavailable(self, model: str, detail: str) -> ServiceUnavailable:
        log.error("%s failed a chat with %s: %s", self.name, model, detail)
        return ServiceUnavailable(
            f"The server that serves the model `{model}` is unavailable. Please try again later."
        )

    def _refused(self, model: str, why: str) -> InvalidRequest:
        return InvalidRequest(
            f"The model `{model}` cannot be served by {self.name}: {why}.",
            param="model",
            code="model_not_servable",
        )
