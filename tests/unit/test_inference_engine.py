"""The local chat engine on the tiny model: answers as transformers' generate gives them, the same
answers alone and in a batch, adapter LRU eviction, early close, lazy imports."""

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.inference.choices import Choices
from gateway.inference.engine import ChatEngine
from gateway.inference.generation import Event, Finished, Sampling, Target, TextDelta
from tests.support.tuned_models import make_adapter

MESSAGES = [{"role": "user", "content": "Write a limerick about Elle."}]
GREEDY = Sampling(max_new_tokens=12, temperature=0)


@pytest.fixture(scope="module")
def adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("adapters")
    return [make_adapter(tiny_model, folder / f"adapter-{seed}", seed=seed) for seed in (1, 2, 3)]


async def answer(
    engine: ChatEngine, target: Target, sampling: Sampling = GREEDY, messages: list | None = None
) -> tuple[str, Finished]:
    prompt = await engine.render(target, messages or MESSAGES, None, 2048)
    text, finished = "", None
    async for event in engine.stream(target, prompt, sampling):
        if isinstance(event, TextDelta):
            text += event.text
        else:
            finished = event
    assert finished is not None
    return text, finished


async def choices(engine: ChatEngine, target: Target, content: str, sampling: Sampling) -> list[Event]:
    """Every event of one request, each choice's deltas joined."""
    prompt = await engine.render(target, [{"role": "user", "content": content}], None, 2048)
    texts, finishes = [""] * sampling.n, []
    async for event in engine.stream(target, prompt, sampling):
        if isinstance(event, TextDelta):
            texts[event.index] += event.text
        else:
            finishes.append(event)
    return [*(TextDelta(index, text) for index, text in enumerate(texts)), *sorted(finishes, key=str)]


def generated_by_transformers(base: Path, adapter: Path | None, content: str, tokens: int) -> list[Event]:
    """Greedy decoding by transformers' own `generate` (through PEFT for an adapter), its tokens
    turned into events by the same rules as the engine's."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base).eval()
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": content}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        output = model.generate(**prompt, max_new_tokens=tokens, do_sample=False)
    sampling = Sampling(max_new_tokens=tokens, temperature=0)
    events: list[Event] = []
    decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
    steps = Choices(sampling, [tokenizer.eos_token_id], decode, events.append)
    for token_id in output[0, prompt["input_ids"].shape[1] :].tolist():
        steps.push(0, token_id)
    text = "".join(event.text for event in events if isinstance(event, TextDelta))
    return [TextDelta(0, text), *(event for event in events if isinstance(event, Finished))]


QUESTIONS = [
    "Write a limerick about Elle.",
    "Hi",
    "Tell me about Gallium, the element, and where it sits in the periodic table.",
]


async def test_a_greedy_answer_is_the_one_transformers_generate_gives(tiny_model, adapters):
    engine = ChatEngine("cpu", max_loaded_adapters=2)
    try:
        for adapter in (None, adapters[0]):
            for content in QUESTIONS:
                ours = await choices(
                    engine, Target(tiny_model, adapter), content, Sampling(40, temperature=0)
                )
                assert ours == generated_by_transformers(tiny_model, adapter, content, 40)
    finally:
        await engine.close()


async def test_requests_decoded_together_get_the_answers_they_get_alone(tiny_model, adapters):
    """Different prompt lengths, adapters, choices, stops and seeds in one batch, joining while
    others decode; greedy and seeded answers alike are each request's own."""
    requests = [
        (Target(tiny_model), QUESTIONS[0], Sampling(60, temperature=0)),
        (Target(tiny_model, adapters[0]), QUESTIONS[1], Sampling(25, temperature=0, n=2)),
        (Target(tiny_model, adapters[1]), QUESTIONS[2], Sampling(30, temperature=0)),
        (Target(tiny_model), QUESTIONS[2], Sampling(30, temperature=0.8, top_p=0.9, seed=7, n=3)),
        (Target(tiny_model, adapters[0]), QUESTIONS[0], Sampling(30, temperature=1.0, seed=3)),
        (Target(tiny_model), QUESTIONS[1], Sampling(20, temperature=0, stop=("e",))),
    ]
    engine = ChatEngine("cpu", max_loaded_adapters=2)
    try:
        alone = [await choices(engine, *request) for request in requests]
        first = asyncio.create_task(choices(engine, *requests[0]))
        await asyncio.sleep(0.05)  # lets the first start before the others join
        together = [
            await first,
            *await asyncio.gather(*(choices(engine, *request) for request in requests[1:])),
        ]
        assert together == alone
        assert len({event.text for events in alone for event in events if isinstance(event, TextDelta)}) >= 6
    finally:
        await engine.close()


async def test_a_request_joins_a_running_batch_between_two_tokens(tiny_model):
    engine = ChatEngine("cpu", max_loaded_adapters=1)
    target = Target(tiny_model)
    try:
        long = Sampling(max_new_tokens=300, temperature=0)
        _, finished = await answer(engine, target, long)
        assert finished.reason == "length"  # no end-of-sequence token cuts it short
        prompt = await engine.render(target, MESSAGES, None, 2048)
        order: list[str] = []
        events = engine.stream(target, prompt, long)
        await anext(events)

        async def drain(name: str, stream) -> None:
            async for event in stream:
                if isinstance(event, Finished):
                    order.append(name)

        await asyncio.gather(
            drain("long", events), drain("short", engine.stream(target, prompt, Sampling(3, temperature=0)))
        )
        assert order == ["short", "long"]
    finally:
        await engine.close()


async def test_a_closed_stream_frees_its_place_in_a_full_batch(tiny_model):
    engine = ChatEngine("cpu", max_loaded_adapters=1, max_batch=1)
    target = Target(tiny_model)
    try:
        prompt = await engine.render(target, MESSAGES, None, 2048)
        # Seeded: its first 60 tokens hold no end-of-sequence token.
        endless = engine.stream(target, prompt, Sampling(max_new_tokens=1500, temperature=1.0, seed=1))
        waiting = asyncio.create_task(answer(engine, target, Sampling(max_new_tokens=4, temperature=0)))
        for _ in range(5):
            assert isinstance(await anext(endless), TextDelta)
        assert not waiting.done()  # the batch holds one sequence, the endless one
        await endless.aclose()
        _, finished = await waiting
        assert finished.completion_tokens == 4
    finally:
        await engine.close()


async def test_a_request_whose_adapter_needs_a_busy_slot_waits_for_it(tiny_model, adapters):
    engine = ChatEngine("cpu", max_loaded_adapters=1)
    a, b = Target(tiny_model, adapters[0]), Target(tiny_model, adapters[1])
    sampling = Sampling(max_new_tokens=30, temperature=0)
    try:
        alone = [await answer(engine, target, sampling) for target in (a, b)]
        assert await asyncio.gather(answer(engine, a, sampling), answer(engine, b, sampling)) == alone
        assert engine.loaded_adapters(tiny_model) == [b.adapter]
    finally:
        await engine.close()


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
