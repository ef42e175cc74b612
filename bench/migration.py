"""One model's whole migration off OpenAI fine-tuning, timed step by step, as an operator runs it.

    python bench/migration.py                     # 300 production chats, SQLite
    python bench/migration.py --chats 100 --database postgres

A scripted OpenAI organisation (tests/support/fake_upstream) holds the team's history: one
succeeded fine-tune whose model answers the team's production prompts. `ftgate serve` runs on a
fresh data folder with `tiny-chat` as the open base model and that organisation as its `openai`
upstream. Then, each step with the commands README's "Leaving OpenAI fine-tuning" gives:

1. import: `ftgate openai import` (the job, its events, checkpoints and files);
2. capture: `ftgate capture enable`, then the production chats sent one after another through
   ftgate to the old model, until every one is recorded (the anchors: the same chats through
   ftgate with capture off, and straight to the upstream);
3. replace: `ftgate openai replace` and the local job's training, to `succeeded`;
4. compare: `ftgate openai compare` and its three eval runs, to `completed`;
5. alias: `ftgate aliases set`, and the first chat on the old id answered by the replacement.

Prints each step's wall time, the chats' rate beside the anchor's, the pass rates of the three
runs, and the total.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval_run import build_model, wait_until_up  # noqa: E402
from tests.support.fake_upstream import FakeUpstream  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402
from tests.support.server import free_port  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")
MODEL = "tiny-chat"
PROJECT = "acme"
UPSTREAM_KEY = "sk-bench-upstream"
SYSTEM = {"role": "system", "content": "You are Acme's support assistant."}
PRODUCTS = ["router", "kettle", "lamp", "drill", "scooter", "camera", "speaker", "printer"]
ISSUES = ["will not start", "is too loud", "keeps restarting", "shows error 4", "lost its settings"]
FINISHED = ("succeeded", "failed", "cancelled", "completed", "canceled")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=300, help="production chats captured")
    parser.add_argument("--held-out-fraction", type=float, default=0.1)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    return parser.parse_args()


def production_answers(n: int) -> dict[str, str]:
    """The team's prompts and what the old model answers to each."""
    answers = {}
    for i in range(n):
        product, issue = PRODUCTS[i % len(PRODUCTS)], ISSUES[i // len(PRODUCTS) % len(ISSUES)]
        ticket = f"Ticket {i}: my {product} {issue}."
        answers[ticket] = f"Sorry your {product} {issue}. Hold reset for {3 + i % 7} seconds, then call us."
    return answers


class Steps:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def record(self, name: str, started: float, note: str = "") -> None:
        self.rows.append((name, time.perf_counter() - started, note))
        print(f"{name:<34} {self.rows[-1][1]:>8.2f} s  {note}", flush=True)

    def total(self) -> float:
        return sum(seconds for _, seconds, _ in self.rows)


def ftgate(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([FTGATE, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ftgate {' '.join(args)}: {done.stderr}")
    return done.stdout


def chat(api: httpx.Client, model: str, prompt: str) -> dict[str, Any]:
    body = {"model": model, "messages": [SYSTEM, {"role": "user", "content": prompt}], "temperature": 0}
    response = api.post("/chat/completions", json=body)
    response.raise_for_status()
    return response.json()


def time_chats(api: httpx.Client, model: str, answers: dict[str, str]) -> float:
    started = time.perf_counter()
    for prompt in answers:
        chat(api, model, prompt)
    return time.perf_counter() - started


def wait_for(api: httpx.Client, path: str, done: Any, poll: float = 0.2) -> Any:
    while not done(body := api.get(path).json()):
        time.sleep(poll)
    return body


def main() -> None:
    args = parse_args()
    answers = production_answers(args.chats)
    steps = Steps()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ftgate-bench-")))
        fake = stack.enter_context(FakeUpstream(api_key=UPSTREAM_KEY))
        fake.answer(answers)
        job_id = fake.add_history_job("succeeded", name="support")
        original = fake.job(job_id)["fine_tuned_model"]
        data_dir = scratch / "data"
        (data_dir / "models").mkdir(parents=True)
        (data_dir / "models" / MODEL).symlink_to(build_model(scratch))
        database_url = "" if args.database == "sqlite" else stack.enter_context(temporary_database())
        upstream = {"name": "openai", "base_url": fake.base_url, "api_key": UPSTREAM_KEY}
        env = {
            **os.environ,
            "FTGATE_DATA_DIR": str(data_dir),
            "FTGATE_DATABASE_URL": database_url,
            "FTGATE_UPSTREAMS": json.dumps([upstream]),
            "FTGATE_RECONCILE_INTERVAL_SECONDS": "1",
        }
        ftgate(env, "migrate")
        key = ftgate(env, "keys", "create", "--project", PROJECT).splitlines()[-1]
        port = free_port()
        server = subprocess.Popen(
            [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"], env=env
        )
        stack.callback(server.wait, 30)
        stack.callback(server.terminate)
        headers = {"authorization": f"Bearer {key}"}
        api = stack.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", headers=headers, timeout=300)
        )
        direct = stack.enter_context(
            httpx.Client(base_url=fake.base_url, headers={"authorization": f"Bearer {UPSTREAM_KEY}"})
        )
        wait_until_up(api)
        print(f"{args.chats} production chats, held-out fraction {args.held_out_fraction}, {args.database}")

        started = time.perf_counter()
        ftgate(env, "openai", "import", "--project", PROJECT, "--upstream", "openai")
        steps.record("import", started, f"{original}")

        started = time.perf_counter()
        ftgate(env, "capture", "enable", "--project", PROJECT, "--model", original,
               "--held-out-fraction", str(args.held_out_fraction))  # fmt: skip
        chats_seconds = time_chats(api, original, answers)
        while (status := json.loads(ftgate(env, "capture", "status", "--project", PROJECT))[0])[
            "examples"
        ] < args.chats:
            time.sleep(0.2)
        steps.record(
            "capture (chats through ftgate)",
            started,
            f"{args.chats / chats_seconds:.1f} chats/s; {status['training_examples']} training examples, "
            f"{status['held_out_examples']} held out",
        )
        ftgate(env, "capture", "disable", "--project", PROJECT, "--model", original)
        uncaptured = time_chats(api, original, answers)
        straight = time_chats(direct, original, answers)
        for name, seconds in (("capture off", uncaptured), ("straight to the upstream", straight)):
            print(
                f"{'  anchor: ' + name:<34} {seconds:>8.2f} s  {args.chats / seconds:.1f} chats/s "
                f"(captured / this: {chats_seconds / seconds:.2f})",
                flush=True,
            )

        started = time.perf_counter()
        job = json.loads(
            ftgate(
                env,
                "openai",
                "replace",
                "--project",
                PROJECT,
                original,
                "--model",
                MODEL,
                "--learning-rate-multiplier",
                "auto",
            )  # fmt: skip
        )
        done = wait_for(api, f"/fine_tuning/jobs/{job['id']}", lambda body: body["status"] in FINISHED)
        assert done["status"] == "succeeded", done
        hyper = done["hyperparameters"]
        steps.record(
            "replace (train the local job)",
            started,
            f"{done['trained_tokens']} trained tokens, {hyper['n_epochs']} epochs, "
            f"batch {hyper['batch_size']}",
        )

        started = time.perf_counter()
        comparison = json.loads(ftgate(env, "openai", "compare", "--project", PROJECT, original))
        rates = []
        for run in comparison["runs"]:
            path = f"/evals/{comparison['eval_id']}/runs/{run['run_id']}"
            finished = wait_for(api, path, lambda body: body["status"] in FINISHED)
            assert finished["status"] == "completed", finished
            counts = {
                r["testing_criteria"].split("-")[0]: r for r in finished["per_testing_criteria_results"]
            }
            rate = ", ".join(
                f"{name} {r['passed']}/{r['passed'] + r['failed']}" for name, r in counts.items()
            )
            rates.append(f"{run['role']}: {rate}")
        steps.record("compare (three eval runs)", started, "; ".join(rates))

        started = time.perf_counter()
        ftgate(env, "aliases", "set", "--project", PROJECT, original, done["fine_tuned_model"])
        served = chat(api, original, next(iter(answers)))["model"]
        steps.record("alias (first chat on the old id)", started, f"answered by {served}")
        print(f"{'total':<34} {steps.total():>8.2f} s")


if __name__ == "__main__":
    main()
