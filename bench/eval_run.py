"""Wall time of one eval run on the local tiny-chat, next to the same chats sent one by one.

    python bench/eval_run.py                          # 100 items, 3 rounds, SQLite
    python bench/eval_run.py --items 50 --rounds 5 --database postgres

Builds tiny-chat in a temporary folder (as the tests do) and starts `ftgate serve` on a fresh
data folder (embedded default: in-process workers; with `--database postgres`, a throw-away
database on the local server). Creates one eval (custom item schema, a string_check `ilike` and
a text_similarity `fuzzy_match` criterion) and, each round:

- eval run: a `completions` run of tiny-chat over N inline items (temperature 0,
  max_completions_tokens 16), timed from runs.create to the first read that says `completed`
  (reads every 50 ms);
- anchor: the same N chats (same messages, same sampling) sent one after another to
  /v1/chat/completions on the same server, the answers graded by nobody.

Rounds alternate which of the two goes first. Prints each round, the medians and the ratio
eval run / anchor (below 1: the run's concurrent sampling beats one-by-one chats).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.evals import CLOSE_TO_ANSWER, CONTAINS_ANSWER, QA_SCHEMA  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402
from tests.support.server import free_port  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")
DATA = ROOT / "tests" / "data"
MODEL = "tiny-chat"
SYSTEM = "You answer trivia questions in a word or two."
MAX_TOKENS = 16
POLL_SECONDS = 0.05
WORDS = ["river", "mountain", "city", "planet", "metal", "colour", "bird", "ocean", "king", "poem"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    return parser.parse_args()


def items(n: int) -> list[dict[str, str]]:
    return [
        {"question": f"Which {WORDS[i % len(WORDS)]} is number {i}?", "answer": f"Answer {i}"}
        for i in range(n)
    ]


def messages(item: dict[str, str]) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": item["question"]}]


def build_model(folder: Path) -> Path:
    from transformers.utils import logging

    from training.tiny_model import build_tiny_chat_model, jsonl_strings

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    corpus = [
        text
        for name in ("elle-limericks.jsonl", "marv-weighted.jsonl")
        for text in jsonl_strings(DATA / name)
    ]
    return build_tiny_chat_model(folder / MODEL, extra_corpus=corpus)


def start_ftgate(stack: ExitStack, data_dir: Path, database_url: str) -> tuple[str, str]:
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir), "FTGATE_DATABASE_URL": database_url}
    subprocess.run([FTGATE, "migrate"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [FTGATE, "keys", "create", "--project", "bench"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"], env=env
    )
    stack.callback(server.wait, 30)
    stack.callback(server.terminate)
    return f"http://127.0.0.1:{port}/v1", key


def wait_until_up(api: httpx.Client) -> None:
    for _ in range(600):
        try:
            api.get("/models").raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("ftgate did not start")


def chat(api: httpx.Client, item: dict[str, str]) -> str:
    body = {"model": MODEL, "messages": messages(item), "temperature": 0, "max_completion_tokens": MAX_TOKENS}
    response = api.post("/chat/completions", json=body)
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]


def time_anchor(api: httpx.Client, rows: list[dict[str, str]]) -> float:
    started = time.perf_counter()
    for item in rows:
        chat(api, item)
    return time.perf_counter() - started


def time_eval_run(api: httpx.Client, eval_id: str, rows: list[dict[str, str]]) -> float:
    data_source = {
        "type": "completions",
        "model": MODEL,
        "input_messages": {
            "type": "template",
            "template": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "{{item.question}}"},
            ],
        },
        "sampling_params": {"temperature": 0.0, "max_completions_tokens": MAX_TOKENS},
        "source": {"type": "file_content", "content": [{"item": item} for item in rows]},
    }
    started = time.perf_counter()
    created = api.post(f"/evals/{eval_id}/runs", json={"data_source": data_source})
    created.raise_for_status()
    run_id = created.json()["id"]
    while True:
        run = api.get(f"/evals/{eval_id}/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "canceled"):
            break
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    assert run["status"] == "completed", run
    counts = run["result_counts"]
    assert counts["total"] == len(rows) and counts["errored"] == 0, counts
    return seconds


def main() -> None:
    args = parse_args()
    rows = items(args.items)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ftgate-bench-")))
        data_dir = scratch / "data"
        (data_dir / "models").mkdir(parents=True)
        (data_dir / "models" / MODEL).symlink_to(build_model(scratch))
        database_url = "" if args.database == "sqlite" else stack.enter_context(temporary_database())
        base_url, key = start_ftgate(stack, data_dir, database_url)
        api = stack.enter_context(
            httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {key}"}, timeout=120)
        )
        wait_until_up(api)
        chat(api, rows[0])  # loads the model
        created = api.post(
            "/evals",
            json={
                "name": "bench",
                "data_source_config": {"type": "custom", "item_schema": QA_SCHEMA},
                "testing_criteria": [CONTAINS_ANSWER, CLOSE_TO_ANSWER],
            },
        )
        created.raise_for_status()
        eval_id = created.json()["id"]
        print(f"{args.items} items, tiny-chat, max_completions_tokens {MAX_TOKENS}, {args.database}")
        print(f"{'round':>5} {'eval run s':>11} {'items/s':>8} {'anchor s':>9} {'chats/s':>8} {'ratio':>6}")
        runs, anchors = [], []
        for number in range(1, args.rounds + 1):
            if number % 2:
                run_seconds, anchor_seconds = time_eval_run(api, eval_id, rows), time_anchor(api, rows)
            else:
                anchor_seconds, run_seconds = time_anchor(api, rows), time_eval_run(api, eval_id, rows)
            runs.append(run_seconds)
            anchors.append(anchor_seconds)
            print(
                f"{number:>5} {run_seconds:>11.2f} {args.items / run_seconds:>8.1f} {anchor_seconds:>9.2f} "
                f"{args.items / anchor_seconds:>8.1f} {run_seconds / anchor_seconds:>6.2f}",
                flush=True,
            )
        run_median, anchor_median = statistics.median(runs), statistics.median(anchors)
        print(
            f"median: eval run {run_median:.2f} s ({args.items / run_median:.1f} items/s), anchor "
            f"{anchor_median:.2f} s ({args.items / anchor_median:.1f} chats/s); "
            f"ratio {run_median / anchor_median:.2f}"
        )


if __name__ == "__main__":
    main()
