"""Training throughput of ftgate's LocalTrainer next to TRL's SFTTrainer, in one run on the same model,
data and device.

    .venv/bin/python bench/train.py [--model DIR] [--data FILE] [--epochs N] [--batch-size B] [--device auto]

TRL keeps its SFTConfig defaults apart from what must match: epochs, per-device batch size, learning
rate, the LoRA config, no reporting, saving or logging, and use_cpu on the CPU. Both get the same
pre-tokenized examples (input_ids + labels from ftgate's chat encoder). Each is warmed up by a short
run first; the timed run is a whole fresh training. Tokens = non-pad input tokens × epochs, counted
once from the shared dataset. Without --model, a small chat model is built in a temporary folder;
without --data, the Elle limericks are repeated to 500 examples.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.examples import ChatEncoder  # noqa: E402
from training.tiny_model import build_tiny_chat_model, jsonl_strings  # noqa: E402
from training.trainer import LocalTrainer, TrainingConfig  # noqa: E402

LIMERICKS = ROOT / "tests" / "data" / "elle-limericks.jsonl"
DEFAULT_EXAMPLES = 500
LEARNING_RATE = 1e-3
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0}
WARMUP_STEPS = 3
MAX_LENGTH = 1024  # TRL's default; ftgate gets the same so both train the same tokens
H100_BF16_PEAK = 989.4e12


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local causal LM folder (default: build a small one)")
    parser.add_argument("--data", type=Path, help="chat JSONL (default: the Elle limericks × 50)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


def read_examples(path: Path | None) -> list[dict]:
    lines = (path or LIMERICKS).read_text(encoding="utf-8").splitlines()
    examples = [json.loads(line) for line in lines if line.strip()]
    if path is None:
        examples = (examples * (DEFAULT_EXAMPLES // len(examples) + 1))[:DEFAULT_EXAMPLES]
    return examples


def time_ftgate(args, model_dir: Path, examples: list[dict]) -> float:
    def trainer(subset: list[dict]) -> LocalTrainer:
        config = TrainingConfig(
            model_dir=model_dir,
            method="supervised",
            n_epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=LEARNING_RATE,
            seed=42,
            lora_rank=LORA["r"],
            lora_alpha=LORA["lora_alpha"],
            lora_dropout=LORA["lora_dropout"],
            max_length=MAX_LENGTH,
            device=args.device,
        )
        return LocalTrainer(config, subset)

    warmup = trainer(examples[: WARMUP_STEPS * args.batch_size])
    for _ in range(warmup.total_steps):
        warmup.step()
    warmup.close()
    timed = trainer(examples)
    synchronize(timed.device)
    start = time.perf_counter()
    for _ in range(timed.total_steps):
        timed.step()
    synchronize(timed.device)
    seconds = time.perf_counter() - start
    timed.close()
    return seconds


def time_trl(args, model_dir: Path, sequences, device: str):
    """Seconds of the timed run, and the SFTConfig it ran with."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = Dataset.from_list([{"input_ids": s.input_ids, "labels": s.labels} for s in sequences])

    def trainer(max_steps: int) -> SFTTrainer:
        config = SFTConfig(
            output_dir=tempfile.mkdtemp(prefix="trl-bench-"),
            num_train_epochs=args.epochs,
            max_steps=max_steps,
            per_device_train_batch_size=args.batch_size,
            learning_rate=LEARNING_RATE,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            use_cpu=device == "cpu",
        )
        model = AutoModelForCausalLM.from_pretrained(model_dir).to(device)
        peft_config = LoraConfig(**LORA, target_modules="all-linear", task_type="CAUSAL_LM")
        sft = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
        sft.remove_callback(PrinterCallback)
        return sft

    trainer(WARMUP_STEPS).train()
    timed = trainer(-1)
    synchronize(device)
    start = time.perf_counter()
    timed.train()
    synchronize(device)
    return time.perf_counter() - start, timed.args


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def flops_per_token(model_dir: Path, sequences) -> float:
    """F_tok = 4·N_eff + 6·N_lora + 12·L·d·T_attn (LoRA; N_eff keeps a tied embedding: lm_head uses it)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir),
        LoraConfig(**LORA, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    base = model.get_base_model()
    n_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_base = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if not base.config.tie_word_embeddings:
        n_base -= base.get_input_embeddings().weight.numel()
    lengths = [len(s.input_ids) for s in sequences]
    t_attn = sum(n * n for n in lengths) / sum(lengths)
    layers, hidden = base.config.num_hidden_layers, base.config.hidden_size
    return 4 * n_base + 6 * n_lora + 12 * layers * hidden * t_attn


def main() -> None:
    args = parse_args()
    import datasets
    import torch
    from transformers import AutoTokenizer
    from transformers.utils import logging

    from training.device import resolve_device

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    datasets.disable_progress_bars()
    device = str(resolve_device(args.device))
    examples = read_examples(args.data)
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = args.model or build_tiny_chat_model(
            Path(scratch) / "bench-model",
            extra_corpus=jsonl_strings(args.data or LIMERICKS),
            hidden_size=256,
            layers=4,
            heads=4,
        )
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        encoder = ChatEncoder(tokenizer, MAX_LENGTH)
        sequences = [encoder.supervised(example, f"line {n}") for n, example in enumerate(examples, 1)]
        tokens = sum(len(s.input_ids) for s in sequences) * args.epochs

        results = {"ftgate LocalTrainer": time_ftgate(args, model_dir, examples)}
        results["TRL SFTTrainer"], trl_config = time_trl(args, model_dir, sequences, device)
        flops = flops_per_token(model_dir, sequences) if device.startswith("cuda") else None

    print(f"device: {torch.cuda.get_device_name(device) if device.startswith('cuda') else device}")
    print(f"model: {args.model or 'tiny chat model (hidden 256, 4 layers)'}; {len(examples)} examples")
    print(f"epochs {args.epochs}, batch size {args.batch_size}, learning rate {LEARNING_RATE}, LoRA {LORA}")
    kept = ("bf16", "gradient_checkpointing", "padding_free", "packing", "loss_type")
    print("TRL defaults kept: " + ", ".join(f"{name}={getattr(trl_config, name)}" for name in kept))
    header = f"{'trainer':<22}{'tokens':>10}{'seconds':>10}{'tokens/s':>12}"
    print(header + ("" if flops is None else f"{'MFU':>8}"))
    for name, seconds in results.items():
        line = f"{name:<22}{tokens:>10}{seconds:>10.2f}{tokens / seconds:>12.0f}"
        print(line + ("" if flops is None else f"{tokens / seconds * flops / H100_BF16_PEAK:>8.1%}"))
    ftgate, trl = results.values()
    print(f"ratio ftgate/TRL (tokens/s): {trl / ftgate:.2f}")


if __name__ == "__main__":
    main()
