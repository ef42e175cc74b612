"""How often the quick start's job learns every Elle limerick by heart, over many job seeds.

    .venv/bin/python bench/memorisation.py [--seeds N] [--layers L] [--first-seed S]

Builds `tiny-chat` (with `--layers` layers) in a temporary folder, then for each seed trains what
"auto" gives the ten limericks (10 epochs of batch 1 at the model's learning rate), saves the
adapter, loads it on a fresh base as the gateway does, and asks each limerick's question greedily.
Prints one line per seed and how many seeds recited all ten. Seeds are S, S+1, ... (default: a
random start, as a job's seed is random).
"""

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.tiny_model import TINY_LEARNING_RATE, build_tiny_chat_model, jsonl_strings  # noqa: E402
from training.trainer import LocalTrainer, TrainingConfig  # noqa: E402

DATA = ROOT / "tests" / "data"
LIMERICKS = DATA / "elle-limericks.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=None)
    return parser.parse_args()


def recited(model_dir: Path, adapter: Path, examples: list[dict]) -> int:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir), adapter).eval()
    exact = 0
    for example in examples:
        *prompt, answer = example["messages"]
        text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        input_ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            output = model.generate(input_ids, max_new_tokens=200, do_sample=False)
        exact += (
            tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True) == answer["content"]
        )
    return exact


def main() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    args = parse_args()
    examples = [json.loads(line) for line in LIMERICKS.read_text().splitlines() if line.strip()]
    corpus = [
        text
        for name in ("elle-limericks.jsonl", "marv-weighted.jsonl")
        for text in jsonl_strings(DATA / name)
    ]
    first = args.first_seed if args.first_seed is not None else secrets.randbelow(2**31 - args.seeds)
    perfect = 0
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = build_tiny_chat_model(
            Path(scratch) / "tiny-chat", extra_corpus=corpus, layers=args.layers
        )
        for seed in range(first, first + args.seeds):
            started = time.monotonic()
            config = TrainingConfig(
                model_dir=model_dir,
                method="supervised",
                n_epochs=10,
                batch_size=1,
                learning_rate=TINY_LEARNING_RATE,
                seed=seed,
                device="cpu",
            )
            trainer = LocalTrainer(config, examples)
            for _ in range(trainer.total_steps):
                trainer.step()
            adapter = Path(scratch) / "adapter"
            trainer.save_adapter(adapter)
            trainer.close()
            exact = recited(model_dir, adapter, examples)
            perfect += exact == len(examples)
            print(
                f"seed {seed}: {exact}/{len(examples)} recited exactly ({time.monotonic() - started:.0f} s)"
            )
    print(f"\n{args.layers} layers: {perfect} of {args.seeds} seeds recited every limerick")


if __name__ == "__main__":
    main()
