"""What a job with "auto" hyperparameters does to a real pretrained model: whether the tuned model
recites its training answers (greedy) and still answers general questions as the base did, and
how long it takes, beside the same job on `tiny-chat` as the anchor.

    .venv/bin/python bench/real_model.py [--data FILE.jsonl] [--model DIR] [--learning-rate LR]
        [--epochs N] [--rank R] [--seed S]

`--model` is an imported model folder (`ftgate models install-smollm2` puts SmolLM2-135M-Instruct
in data/models/smollm2-135m-instruct); its ftgate.json gives the learning rate unless
--learning-rate says otherwise. Epochs and batch size are what "auto" gives the file.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.catalog import LOCAL_MODEL_SIDECAR  # noqa: E402
from gateway.fine_tuning.hyperparameters import default_batch_size, default_epochs  # noqa: E402
from training.tiny_model import TINY_LEARNING_RATE, build_tiny_chat_model, jsonl_strings  # noqa: E402
from training.trainer import LocalTrainer, TrainingConfig  # noqa: E402

GENERAL_QUESTIONS = (
    "What is the capital of France?",
    "What is the largest planet in our solar system?",
    "Who wrote Romeo and Juliet?",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests/data/elle-limericks.jsonl")
    parser.add_argument("--model", type=Path, default=ROOT / "data/models/smollm2-135m-instruct")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-anchor", action="store_true", help="skip the tiny-chat run")
    return parser.parse_args()


class Chat:
    def __init__(self, model_dir: Path, adapter: Path | None = None) -> None:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        self.model = (PeftModel.from_pretrained(model, adapter) if adapter else model).eval()

    def answer(self, messages: list[dict], max_new_tokens: int = 120) -> str:
        import torch

        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        input_ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            output = self.model.generate(input_ids, max_new_tokens=max_new_tokens, do_sample=False)
        return self.tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)


def train(model_dir: Path, examples: list[dict], args: argparse.Namespace, learning_rate: float, out: Path):
    epochs = args.epochs or default_epochs(len(examples))
    config = TrainingConfig(
        model_dir=model_dir,
        method="supervised",
        n_epochs=epochs,
        batch_size=default_batch_size(len(examples)),
        learning_rate=learning_rate,
        seed=args.seed,
        device="cpu",
        lora_rank=args.rank,
        lora_alpha=2 * args.rank,
    )
    started = time.monotonic()
    trainer = LocalTrainer(config, examples)
    losses = [trainer.step().train_loss for _ in range(trainer.total_steps)]
    trainer.save_adapter(out)
    trainer.close()
    took = time.monotonic() - started
    print(
        f"  {len(losses)} steps ({epochs} epochs) at lr {learning_rate:g}: {took:.0f} s, "
        f"last loss {losses[-1]:.3f}"
    )
    return took


def run(name: str, model_dir: Path, examples: list[dict], args: argparse.Namespace, learning_rate: float):
    print(f"{name}:")
    base = Chat(model_dir)
    before = [base.answer([{"role": "user", "content": q}], 40) for q in GENERAL_QUESTIONS]
    with tempfile.TemporaryDirectory() as scratch:
        took = train(model_dir, examples, args, learning_rate, Path(scratch) / "adapter")
        tuned = Chat(model_dir, Path(scratch) / "adapter")
        recited = 0
        for example in examples:
            *prompt, answer = example["messages"]
            recited += tuned.answer(prompt, 200) == answer["content"]
        kept = 0
        for question, was in zip(GENERAL_QUESTIONS, before, strict=True):
            now = tuned.answer([{"role": "user", "content": question}], 40)
            kept += now == was
            if now != was:
                print(f"  {question!r}: base {was!r}, tuned {now!r}")
    print(
        f"  recited {recited}/{len(examples)} exactly, answered {kept}/{len(GENERAL_QUESTIONS)} "
        f"general questions as the base did, training {took:.0f} s"
    )


def main() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    args = parse_args()
    examples = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    sidecar = json.loads((args.model / LOCAL_MODEL_SIDECAR).read_text())
    run(args.model.name, args.model, examples, args, args.learning_rate or sidecar["learning_rate"])
    if not args.no_anchor:
        with tempfile.TemporaryDirectory() as scratch:
            tiny = build_tiny_chat_model(Path(scratch) / "tiny-chat", extra_corpus=jsonl_strings(args.data))
            run("tiny-chat (anchor)", tiny, examples, args, TINY_LEARNING_RATE)


if __name__ == "__main__":
    main()
