"""The engine of each local base model: a server of its own where its `engine` names one, else
the one transformers engine that every other local model shares."""

from pathlib import Path

from gateway.catalog import BaseModelSpec
from gateway.engines.base import Engine, ServedEngine
from gateway.engines.server import AdapterServer
from gateway.engines.sglang import SglangServer
from gateway.engines.transformers import TransformersEngine
from gateway.engines.vllm import VllmServer

SERVERS: dict[str, type[AdapterServer]] = {"vllm": VllmServer, "sglang": SglangServer}


class Engines:
    def __init__(
        self, transformers: TransformersEngine, served: dict[str, ServedEngine] | None = None
    ) -> None:
        self.transformers = transformers
        self.served = served or {}

    def for_model(self, spec: BaseModelSpec) -> Engine:
        return self.served.get(spec.id) or self.transformers

    def served_for(self, spec: BaseModelSpec) -> ServedEngine | None:
        return self.served.get(spec.id)

    async def close(self) -> None:
        await self.transformers.close()
        for engine in self.served.values():
            await engine.close()


def build_served_engines(catalog: list[BaseModelSpec], adapters_dir: Path) -> dict[str, ServedEngine]:
    return {
        spec.id: SERVERS[spec.engine.kind](spec.id, spec.engine, adapters_dir)
        for spec in catalog
        if spec.runs_here and spec.engine.kind in SERVERS
    }
