"""The local chat engine on the tiny model: adapter LRU eviction, early close, lazy imports."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.inference.engine import ChatEngine
from gateway.inference.generation import Finished, Sampling, Target, TextDelta
from tests.support.tuned_models import make_adapter

MESSAGES = [{"role": "user", "content": "Write a limerick about Elle."}]
GREEDY = Sampling(max_new_tokens=12, temperature=0)


@pytest.fixture(scope="module")
def adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("adapters")
    return [make_adapter(tiny_model, folder / f"adapter-{seed}", seed=seed) for seed in (1, 2, 3)]


async def answer(engine: ChatEngine, target: Target, sampling: Sampling = GREEDY) -> tuple[str, Finished]:
    prompt = await engine.render(target, MESSAGES, None, 2048)
    text, finished = "", None
    async for event in engine.stream(target, prompt, sampling):
        if isinstance(event, TextDelta):
            text += event.text
        else:
            finished = event
    assert finished is not None
    return text, finished


async def test_adapters_beyond_capacity_are_evicted_least_recently_used_first(tiny_model, adapters):
    engine = ChatEngine("cpu", max_loaded_adapters=2)
    a, b, c = (Target(tiny_model, folder) for folder in adapters)
    try:
        base, _ = await answer(engine, Target(tiny_model))
        first = {target.adapter: (await answer(engine, target))[0] for target in (a, b)}
        assert engine.loaded_adapters(tiny_model) == [a.adapter, b.adapter]
        await answer(engine, a)
        third, _ = await answer(engine, c)  # evicts b, the least recently used
        assert engine.loaded_adapters(tiny_model) == [a.adapter, c.adapter]
        assert (await answer(engine, b))[0] == first[b.adapter]  # reloaded, same answer
        assert engine.loaded_adapters(tiny_model) == [c.adapter, b.adapter]
        assert (await answer(engine, a))[0] == first[a.adapter]
        assert len({base, first[a.adapter], first[b.adapter], third}) == 4
        assert (await answer(engine, Target(tiny_model)))[0] == base
    finally:
        await engine.close()


async def test_closing_a_stream_early_frees_the_model(tiny_model):
    engine = ChatEngine("cpu", max_loaded_adapters=1)
    target = Target(tiny_model)
    try:
        prompt = await engine.render(target, MESSAGES, None, 2048)
        events = engine.stream(target, prompt, Sampling(max_new_tokens=1500, temperature=1.0))
        assert isinstance(await anext(events), TextDelta)
        await events.aclose()
        _, finished = await answer(engine, target, Sampling(max_new_tokens=3, temperature=0, n=2))
        assert finished.completion_tokens == 3
    finally:
        await engine.close()


def test_the_gateway_starts_without_torch(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from gateway.main import build_app
        from gateway.settings import Settings
        import gateway.chat.router, gateway.chat.service, gateway.inference.engine
        build_app(Settings(data_dir=Path({str(tmp_path)!r})))
        heavy = sorted(name for name in ("torch", "transformers", "peft") if name in sys.modules)
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).resolve().parents[2])
