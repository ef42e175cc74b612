"""The `ftgate` console script: migrate, keys create, models build-tiny, and serve on the embedded default."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.support.server import free_port

FTGATE = str(Path(sys.executable).parent / "ftgate")


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir)}
    env.pop("FTGATE_DATABASE_URL", None)
    return subprocess.run([FTGATE, *args], env=env, capture_output=True, text=True, timeout=120, check=True)


def test_keys_create_prints_the_key_last_and_serve_accepts_it(tmp_path: Path):
    run(tmp_path, "migrate")
    assert "built the local chat model 'tiny-chat'" in run(tmp_path, "models", "build-tiny").stdout
    assert (tmp_path / "models" / "tiny-chat" / "config.json").is_file()
    assert "already" in run(tmp_path, "models", "build-tiny").stdout
    key = run(tmp_path, "keys", "create", "--project", "demo").stdout.strip().splitlines()[-1]
    assert key.startswith("sk-ftg-")
    port = free_port()
    env = {**os.environ, "FTGATE_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen([FTGATE, "serve", "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx2.get(
                    f"http://127.0.0.1:{port}/v1/models", headers={"authorization": f"Bearer {key}"}
                )
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline, "ftgate serve did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert "tiny-chat" in [model["id"] for model in response.json()["data"]]
        assert (tmp_path / "ftgate.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.postgres
def test_migrate_on_a_missing_database_says_so_in_one_line(tmp_path: Path):
    env = {
        **os.environ,
        "FTGATE_DATA_DIR": str(tmp_path),
        "FTGATE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/ftgate_never_created",
    }
    for command in (["migrate"], ["serve", "--port", str(free_port())]):
        done = subprocess.run([FTGATE, *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            "ftgate: cannot use the database 127.0.0.1:5432/ftgate_never_created: "
            'database "ftgate_never_created" does not exist'
        ]
