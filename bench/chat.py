"""Local chat throughput: generated tokens/s and time to first token at 1, 4 and 16 concurrent
clients, with the engine batching (continuous batching) beside the same engine decoding one
sequence at a time (FTGATE_CHAT_MAX_BATCH=1, the behaviour before batching), in one run.

    .venv/bin/python bench/chat.py [--model DIR] [--tokens 64] [--repeats 2] [--device cpu]

Without --model, tiny-chat is built in a temporary folder. Each client sends one greedy chat
with its own question and reads the stream; tokens are the completion tokens of all clients.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.inference.engine import ChatEngine  # noqa: E402
from gateway.inference.generation import Finished, Sampling, Target  # noqa: E402
from training.tiny_model import build_tiny_chat_model  # noqa: E402

CLIENTS = (1, 4, 16)


async def client(engine: ChatEngine, target: Target, number: int, tokens: int) -> tuple[float, int]:
    messages = [{"role": "user", "content": f"Question {number}: write a limerick about element {number}."}]
    prompt = await engine.render(target, messages, None, 2048)
    start, first, count = time.perf_counter(), None, 0
    async for event in engine.stream(target, prompt, Sampling(max_new_tokens=tokens, temperature=0)):
        first = first or time.perf_counter() - start
        if isinstance(event, Finished):
            count += event.completion_tokens
    return first or 0.0, count


async def measure(
    model: Path, device: str, max_batch: int, clients: int, tokens: int
) -> tuple[float, list[float]]:
    engine = ChatEngine(device, max_batch=max_batch)
    target = Target(model)
    try:
        await client(engine, target, 0, 4)  # loads the model
        start = time.perf_counter()
        results = await asyncio.gather(*(client(engine, target, n, tokens) for n in range(clients)))
        seconds = time.perf_counter() - start
    finally:
        await engine.close()
    return sum(count for _, count in results) / seconds, [first for first, _ in results]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local chat model folder (default: build tiny-chat)")
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens of each chat")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model = args.model or build_tiny_chat_model(Path(tempfile.mkdtemp(prefix="bench-chat-")) / "tiny-chat")
    print(f"model {model}, {args.tokens} tokens per chat, best of {args.repeats}")
    print(f"{'clients':>7} {'engine':>12} {'tokens/s':>9} {'TTFT p50':>9} {'TTFT p99':>9}")
    anchor = None
    for clients in CLIENTS:
        for name, max_batch in (("one at once", 1), ("batched", 16)):
            runs = [
                asyncio.run(measure(model, args.device, max_batch, clients, args.tokens))
                for _ in range(args.repeats)
            ]
            rate, firsts = max(runs, key=lambda run: run[0])
            anchor = anchor or rate
            print(
                f"{clients:>7} {name:>12} {rate:>9.1f} {statistics.median(firsts):>8.3f}s"
                f" {percentile(firsts, 0.99):>8.3f}s  ({rate / anchor:.1f}× 1 client)"
            )


if __name__ == "__main__":
    main()
