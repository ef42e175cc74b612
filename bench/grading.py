"""Grader throughput: items/s for string_check, each text_similarity metric, python and multi.

Usage: python bench/grading.py [--items N] [--python-items N]

Grades N generated (sample, item) pairs per grader in one process through `graders.Grading`
(what the endpoints and eval runs call), python graders at the default concurrency of 2
sandboxed processes at a time.
"""

import argparse
import asyncio
import random
import time

from graders import Grading, PythonSandbox, SandboxLimits, parse_grader, sample_namespace

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "sofa",
    "quickly",
    "slowly",
    "red",
    "blue",
    "big",
    "small",
    "paris",
    "rome",
]
GRADERS = {
    "string_check ilike": {"type": "string_check", "operation": "ilike"},
    **{
        f"text_similarity {metric}": {"type": "text_similarity", "evaluation_metric": metric}
        for metric in ("fuzzy_match", "bleu", "gleu", "rouge_1", "rouge_l")
    },
    "python": {
        "type": "python",
        "source": "def grade(sample, item):\n    return float(item['answer'] in sample['output_text'])\n",
    },
}


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24)))


def definition(name: str, spec: dict) -> dict:
    if spec["type"] == "python":
        return {"name": name, **spec}
    return {"name": name, "input": "{{sample.output_text}}", "reference": "{{item.answer}}", **spec}


async def throughput(grading: Grading, grader_json: dict, pairs: list[tuple[str, str]]) -> float:
    grader = parse_grader(grader_json)
    started = time.perf_counter()
    await asyncio.gather(
        *(grading.grade(grader, sample_namespace(text), {"answer": answer}) for text, answer in pairs)
    )
    return len(pairs) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--python-items", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(0)
    grading = Grading(sandbox=PythonSandbox(SandboxLimits(concurrency=2)))
    for name, spec in GRADERS.items():
        count = args.python_items if spec["type"] == "python" else args.items
        pairs = [(sentence(rng), sentence(rng)) for _ in range(count)]
        rate = await throughput(grading, definition(name, spec), pairs)
        print(f"{name:28s} {rate:10.1f} items/s  ({count} items)")


if __name__ == "__main__":
    asyncio.run(main())
