"""What counting requests costs: the HTTP metrics middleware, per request.

    python bench/metrics_overhead.py                 # 20,000 requests per case, about a minute
    python bench/metrics_overhead.py --requests 5000

Calls the ASGI app directly (no sockets, no client: what is left is the server's own work), in
one process each case so that the client library's mode is that case's:

- the anchor: GET /healthz on the app with FTGATE_METRICS_ENABLED=false;
- GET /healthz and GET /v1/fine_tuning/jobs/{id} (401: the route's key check runs) with the
  metrics on, in one process (values in memory) and with PROMETHEUS_MULTIPROC_DIR set (values in
  mmap files, what several uvicorn workers use);
- the middleware alone around an app that answers at once.

Prints microseconds per request (the median of 5 rounds) side by side.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 5
PATHS = {"healthz": "/healthz", "job (401)": "/v1/fine_tuning/jobs/ftjob-bench"}


async def _call(app, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    await app(scope, receive, send)


async def _per_request_us(app, path: str, requests: int) -> float:
    for _ in range(200):  # warm up
        await _call(app, path)
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(requests):
            await _call(app, path)
        rounds.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(rounds)


async def _measure(metrics: bool, requests: int) -> dict[str, float]:
    """Run in a child: this process's app, on or off, and the middleware alone."""
    from gateway.main import build_app
    from gateway.observability.http_metrics import HttpMetricsMiddleware
    from gateway.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        app = build_app(Settings(data_dir=Path(data_dir), metrics_enabled=metrics))
        results = {name: await _per_request_us(app, path, requests) for name, path in PATHS.items()}
        await app.state.runtime.close()

    async def bare(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    results["bare app"] = await _per_request_us(bare, "/", requests)
    if metrics:
        results["bare app + middleware"] = await _per_request_us(HttpMetricsMiddleware(bare), "/", requests)
    return results


def _child(metrics: bool, requests: int, multiproc_dir: str | None) -> dict[str, float]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FTGATE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if multiproc_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, __file__, "--child", "--requests", str(requests)]
    command += ["--metrics"] if metrics else []
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--metrics", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.metrics, args.requests))))
        return
    with tempfile.TemporaryDirectory() as multiproc_dir:
        cases = {
            "metrics off": _child(False, args.requests, None),
            "on, one process": _child(True, args.requests, None),
            "on, multiprocess": _child(True, args.requests, multiproc_dir),
        }
    rows = ["healthz", "job (401)", "bare app", "bare app + middleware"]
    print(f"{'µs per request':<24}" + "".join(f"{case:>18}" for case in cases))
    for row in rows:
        cells = "".join(
            f"{cases[case][row]:>18.1f}" if row in cases[case] else f"{'-':>18}" for case in cases
        )
        print(f"{row:<24}{cells}")
    off = cases["metrics off"]
    for case in ("on, one process", "on, multiprocess"):
        added = {name: cases[case][name] - off[name] for name in PATHS}
        print(
            f"added by metrics ({case}): " + ", ".join(f"{name} {us:+.1f} µs" for name, us in added.items())
        )


if __name__ == "__main__":
    main()
