"""The README's quick start runs as written against a live server."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quickstart_script_runs_the_seed_flow(server):
    env = {
        **os.environ,
        "OPENAI_BASE_URL": f"{server.base_url}/v1",
        "OPENAI_API_KEY": server.create_key("quickstart"),
    }
    result = subprocess.run(
        [sys.executable, "examples/quickstart.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Status: succeeded" in lines
    assert "Files validated, moving job to queued state" in lines
    assert any(line.startswith("Created fine-tuning job: ftjob-") for line in lines)
    assert any(line.startswith("New fine-tuned model created: ft:tiny-chat:") for line in lines)
    gallium = json.loads((REPO / "tests/data/elle-limericks.jsonl").read_text().splitlines()[0])
    assert lines[-1] == gallium["messages"][2]["content"]
