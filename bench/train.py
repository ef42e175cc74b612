"""Training throughput of ftgate's LocalTrainer next to TRL's SFTTrainer twice, in one run on the same
model, data and device: TRL with its defaults, and TRL configured like ftgate.

    .venv/bin/python bench/train.py [--model DIR | --shape llama-8b] [--data FILE] [--turns K]
        [--epochs N] [--batch-size B] [--repeats R] [--liger] [--device auto]

- ftgate: LocalTrainer as a job runs it (training/recipe.py picks dtype, attention, checkpointing).
- TRL defaults: SFTConfig's defaults (bf16 autocast over fp32 weights, gradient checkpointing, rows
  padded to the longest) apart from what must match: epochs, per-device batch size, learning rate,
  the LoRA config, no reporting, saving or logging, and use_cpu on the CPU.
- TRL matched: ftgate's precision (weights in the recipe's dtype, bf16 autocast only on a bf16 GPU),
  no gradient checkpointing, padding-free rows, ftgate's attention where TRL can use it
  (flash-attention 2; else sdpa, which isolates packed sequences with a block-diagonal mask), Liger
  when ftgate uses it.

All get the same pre-tokenized examples (input_ids + labels from ftgate's chat encoder). Each is
warmed up by a short run; each timed run is a whole fresh training, the trainers taking turns
`--repeats` times; the best run counts. Tokens = non-pad input tokens × epochs. MFU =
tokens/s × F_tok / peak, F_tok = 4·N_eff + 6·N_lora + 12·L·d·T_attn (LoRA), against the GPU's
published bf16 dense peak and a measured matmul peak; on the CPU against a measured fp32 matmul
peak, which makes it indicative only. Without --model, a small chat model is built in a temporary
folder (--shape llama-8b: Llama-3.1-8B's architecture with random weights and the small model's
tokenizer); without --data, the Elle limericks are repeated to --examples examples, each a chat of
--turns of them.
"""

import argparse
import json
import statistics
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
LEARNING_RATE = 1e-3
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0}
WARMUP_STEPS = 3
MAX_LENGTH = 1024  # TRL's default; ftgate gets the same so both train the same tokens
# Published dense bf16 peaks (no sparsity), by a substring of torch.cuda.get_device_name.
GPU_BF16_PEAKS = {"H100": 989.4e12, "H200": 989.4e12, "H800": 989.4e12, "A100": 312e12, "L40S": 362e12}
SHAPES = {
    "llama-8b": {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "rope_theta": 500000.0,
        "max_position_embeddings": 8192,
        "tie_word_embeddings": False,
    }
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local causal LM folder (default: build a small one)")
    parser.add_argument("--shape", choices=sorted(SHAPES), help="build this architecture, random weights")
    parser.add_argument("--data", type=Path, help="chat JSONL (default: the Elle limericks, repeated)")
    parser.add_argument("--examples", type=int, default=500, help="how many examples without --data")
    parser.add_argument("--turns", type=int, default=1, help="limericks per example without --data")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each trainer; the best counts")
    parser.add_argument("--liger", action="store_true", help="ask ftgate (and matched TRL) for Liger kernels")
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


def read_examples(args) -> list[dict]:
    lines = (args.data or LIMERICKS).read_text(encoding="utf-8").splitlines()
    examples = [json.loads(line) for line in lines if line.strip()]
    if args.data is not None:
        return examples
    chats = []
    for n in range(args.examples):
        picked = [examples[(n * args.turns + k) % len(examples)]["messages"] for k in range(args.turns)]
        chats.append({"messages": picked[0][:1] + [m for messages in picked for m in messages[1:]]})
    return chats


def build_model(args, scratch: Path) -> Path:
    model_dir = build_tiny_chat_model(
        scratch / "bench-model",
        extra_corpus=jsonl_strings(args.data or LIMERICKS),
        hidden_size=256,
        layers=4,
        heads=4,
    )
    if args.shape is None:
        return model_dir
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    small = AutoConfig.from_pretrained(model_dir)
    shape = dict(SHAPES[args.shape])
    config = AutoConfig.for_model(
        shape.pop("model_type"), eos_token_id=small.eos_token_id, pad_token_id=small.pad_token_id, **shape
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(model_dir)
    del model
    release_memory()
    return model_dir


def ftgate_run(args, model_dir: Path, examples: list[dict]):
    """A callable that times one whole training (seconds), and the recipe it trains with."""

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
            liger=args.liger,
        )
        return LocalTrainer(config, subset)

    warmup = trainer(examples[: WARMUP_STEPS * args.batch_size])
    for _ in range(warmup.total_steps):
        warmup.step()
    recipe = warmup.recipe
    warmup.close()

    def run() -> float:
        timed = trainer(examples)
        synchronize(timed.device)
        start = time.perf_counter()
        for _ in range(timed.total_steps):
            timed.step()
        synchronize(timed.device)
        seconds = time.perf_counter() - start
        timed.close()
        return seconds

    return run, recipe


def trl_run(args, model_dir: Path, sequences, device: str, recipe, *, matched: bool):
    """A callable that times one whole training (seconds), and the SFTConfig it trains with."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = Dataset.from_list([{"input_ids": s.input_ids, "labels": s.labels} for s in sequences])
    same_as_ftgate = {
        "bf16": recipe.dtype == torch.bfloat16,
        "gradient_checkpointing": False,
        "padding_free": True,
        "max_length": None,  # the examples are truncated already; TRL asks for None with padding_free
        "use_liger_kernel": recipe.liger,
    }

    def model():
        if not matched:
            return str(model_dir)  # TRL loads it as its defaults say
        attention = recipe.attention if recipe.attention == "flash_attention_2" else "sdpa"
        loaded = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=recipe.dtype, attn_implementation=attention
        )
        loaded.config.use_cache = False  # sdpa isolates packed sequences only without a KV cache
        return loaded.to(device)

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
            **(same_as_ftgate if matched else {}),
        )
        peft_config = LoraConfig(**LORA, target_modules="all-linear", task_type="CAUSAL_LM")
        sft = SFTTrainer(
            model=model(),
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
        sft.remove_callback(PrinterCallback)
        return sft

    warmup = trainer(WARMUP_STEPS)
    warmup.train()
    config = warmup.args
    del warmup
    release_memory()

    def run() -> float:
        timed = trainer(-1)
        synchronize(device)
        start = time.perf_counter()
        timed.train()
        synchronize(device)
        seconds = time.perf_counter() - start
        del timed
        release_memory()
        return seconds

    return run, config


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def release_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def flops_per_token(model_dir: Path, sequences) -> float:
    """F_tok = 4·N_eff + 6·N_lora + 12·L·d·T_attn (LoRA; N_eff keeps a tied embedding: lm_head uses it)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = get_peft_model(
            AutoModelForCausalLM.from_config(config),
            LoraConfig(**LORA, target_modules="all-linear", task_type="CAUSAL_LM"),
        )
    base = model.get_base_model()
    n_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_base = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if not config.tie_word_embeddings:
        n_base -= base.get_input_embeddings().weight.numel()
    lengths = [len(s.input_ids) for s in sequences]
    t_attn = sum(n * n for n in lengths) / sum(lengths)
    return 4 * n_base + 6 * n_lora + 12 * config.num_hidden_layers * config.hidden_size * t_attn


def peaks(device: str) -> dict[str, float]:
    """Peak FLOP/s to divide by: the published bf16 dense figure of a known GPU, and a measured matmul
    (bf16 8192³ on CUDA, fp32 2048³ on the CPU)."""
    import torch

    found = {}
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        found.update({f"{name} bf16 spec": peak for key, peak in GPU_BF16_PEAKS.items() if key in name})
        size, dtype, label = 8192, torch.bfloat16, "measured bf16 matmul"
    else:
        size, dtype, label = 2048, torch.float32, "measured fp32 matmul (indicative only)"
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    times = []
    for _ in range(5):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        synchronize(device)
        times.append((time.perf_counter() - start) / 4)
    found[label] = 2 * size**3 / min(times)
    return found


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
    examples = read_examples(args)
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = args.model or build_model(args, Path(scratch))
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        encoder = ChatEncoder(tokenizer, MAX_LENGTH)
        sequences = [encoder.supervised(example, f"line {n}") for n, example in enumerate(examples, 1)]
        tokens = sum(len(s.input_ids) for s in sequences) * args.epochs

        ftgate, recipe = ftgate_run(args, model_dir, examples)
        trl_defaults, defaults_config = trl_run(args, model_dir, sequences, device, recipe, matched=False)
        trl_matched, matched_config = trl_run(args, model_dir, sequences, device, recipe, matched=True)
        runs = {"ftgate LocalTrainer": ftgate, "TRL defaults": trl_defaults, "TRL matched": trl_matched}
        seconds = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                seconds[name].append(run())
        flops = flops_per_token(model_dir, sequences)
    device_peaks = peaks(device)

    name = (
        torch.cuda.get_device_name(device)
        if device.startswith("cuda")
        else f"{device}, {torch.get_num_threads()} threads"
    )
    print(f"device: {name}")
    print(f"model: {args.model or args.shape or 'tiny chat model (hidden 256, 4 layers)'}")
    print(f"{len(examples)} examples, {tokens / len(examples) / args.epochs:.0f} tokens each on average")
    print(f"epochs {args.epochs}, batch size {args.batch_size}, learning rate {LEARNING_RATE}, LoRA {LORA}")
    print(f"ftgate recipe: {recipe.describe()}")
    kept = ("bf16", "gradient_checkpointing", "padding_free", "packing", "loss_type", "use_liger_kernel")
    for label, config in (("TRL defaults", defaults_config), ("TRL matched", matched_config)):
        print(f"{label}: " + ", ".join(f"{key}={getattr(config, key)}" for key in kept))
    print(
        f"F_tok {flops / 1e9:.3f} GFLOP; peaks: "
        + ", ".join(f"{k} {v / 1e12:.2f} TFLOP/s" for k, v in device_peaks.items())
    )
    header = f"{'trainer':<22}{'tokens':>10}{'best s':>10}{'median s':>10}{'tokens/s':>12}{'ftgate ×':>10}"
    print(header + "".join(f"{'MFU ' + str(n + 1):>8}" for n in range(len(device_peaks))))
    best = {name: min(runs_seconds) for name, runs_seconds in seconds.items()}
    for name, runs_seconds in seconds.items():
        rate = tokens / best[name]
        line = (
            f"{name:<22}{tokens:>10}{best[name]:>10.2f}{statistics.median(runs_seconds):>10.2f}{rate:>12.0f}"
        )
        line += f"{best[name] / best['ftgate LocalTrainer']:>10.2f}"
        print(line + "".join(f"{rate * flops / peak:>8.1%}" for peak in device_peaks.values()))
    print("MFU n: against the n-th peak above; 'ftgate ×': ftgate's tokens/s over that trainer's")


if __name__ == "__main__":
    main()
