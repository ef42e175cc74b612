"""Training throughput of one job in one process and in N processes (torchrun, data-parallel, each
holding the whole model or, with --sharding fsdp, a share of it), in one run on the same model, data
and device kind.

    .venv/bin/python bench/train_ddp.py [--model DIR] [--processes 2] [--sharding ddp|fsdp]
        [--examples 200] [--batch-size 8]

Each trainer trains the whole data set once; tokens/s counts the steps only, and start-up (loading
the model, and for N processes starting torchrun and its ranks) is printed apart. The one process
gets every core as its torch threads; each of the N ranks gets torchrun's default of one thread
(OMP_NUM_THREADS=1), so both use the machine's cores. Without --model, a small chat model (hidden
256, 4 layers) is built in a temporary folder; the data is the Elle limericks repeated.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.tiny_model import build_tiny_chat_model, jsonl_strings  # noqa: E402
from training.trainer import TrainingConfig  # noqa: E402
from workers.local.launch import Trainer, open_trainer  # noqa: E402

LIMERICKS = ROOT / "tests" / "data" / "elle-limericks.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local causal LM folder (default: build a small one)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--sharding", choices=["ddp", "fsdp"], default="ddp")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    return parser.parse_args()


def timed(
    config: TrainingConfig, examples: list[dict], processes: int, sharding: str
) -> tuple[float, float, int]:
    """(start-up seconds, training seconds, tokens trained)."""
    started = time.perf_counter()
    trainer: Trainer = open_trainer(config, examples, None, processes, sharding)
    ready = time.perf_counter()
    tokens = 0
    while trainer.completed_steps < trainer.total_steps:
        tokens += trainer.step().tokens
    done = time.perf_counter()
    trainer.close()
    return ready - started, done - ready, tokens


def main() -> None:
    args = parse_args()
    lines = [json.loads(line) for line in LIMERICKS.read_text().splitlines() if line.strip()]
    examples = (lines * (args.examples // len(lines) + 1))[: args.examples]
    with tempfile.TemporaryDirectory() as folder:
        model_dir = args.model or build_tiny_chat_model(
            Path(folder) / "model", extra_corpus=list(jsonl_strings(LIMERICKS)), hidden_size=256, layers=4
        )
        config = TrainingConfig(
            model_dir=model_dir,
            method="supervised",
            n_epochs=1,
            batch_size=args.batch_size,
            learning_rate=1e-3,
            seed=0,
            device=args.device,
        )
        print(f"{len(examples)} examples, batch {args.batch_size}, device {args.device}, {args.sharding}")
        rates = {}
        for processes in (1, args.processes):
            start_up, seconds, tokens = timed(config, examples, processes, args.sharding)
            rates[processes] = tokens / seconds
            print(
                f"{processes} process(es): start-up {start_up:.1f} s, {tokens} tokens in {seconds:.1f} s, "
                f"{rates[processes]:,.0f} tokens/s"
            )
        print(f"ratio {args.processes} / 1: {rates[args.processes] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
