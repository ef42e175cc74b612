"""`pip install ftgate` without the `local` extra, in a fresh virtual environment: no torch, no
transformers, and a gateway that still forwards to its upstream and refuses local models by name.
The install takes a minute or more (pip's own cache makes the next one faster): marked slow."""

import json
import os
import secrets
import subprocess
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.catalog import DEFAULT_BASE_MODELS
from gateway.local_extra import MODULES
from gateway.settings import Settings
from tests.conftest import TINY_MODEL
from tests.support.celery_worker import Worker
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import chat_lines, upload, wait_for_status
from tests.support.parked import PARKED, PARKED_ENV
from tests.support.postgres import temporary_database
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import free_port, serve
from tests.support.upstream import UPSTREAM, UPSTREAM_KEY, upstream_spec

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "sk-admin-slim-install"
LOCAL_MODEL = "local-chat"


@pytest.fixture(scope="module")
def slim_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh environment (no system site-packages) with ftgate installed
    as README says, less the extra: an editable install, Alembic's scripts beside the package."""
    root = tmp_path_factory.mktemp("slim") / "venv"
    venv.create(root, with_pip=True)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", "-e", str(REPO)]
    subprocess.run(pip, check=True, env=_without_pythonpath(), timeout=1800)
    return root / "bin"


def _without_pythonpath() -> dict[str, str]:
    """The environment minus PYTHONPATH, which would show the fresh environment the test's own."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def test_the_core_install_has_no_torch_nor_transformers(slim_bin: Path) -> None:
    found = subprocess.run(
        [str(slim_bin / "python"), "-c", "import importlib.util as u, sys; "
         "print([m for m in sys.argv[1:] if u.find_spec(m)])", *MODULES],
        check=True, capture_output=True, text=True, env=_without_pythonpath(),
    )  # fmt: skip
    assert found.stdout.strip() == "[]"
    listed = subprocess.run(
        [str(slim_bin / "python"), "-m", "pip", "list", "--format=json"],
        check=True, capture_output=True, text=True, env=_without_pythonpath(),
    )  # fmt: skip
    names = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert "ftgate" in names and "fastapi" in names
    assert not names & {"torch", "transformers", "peft", "accelerate", "nvidia-cublas-cu12"}


@pytest.fixture
def slim_server(slim_bin: Path, tmp_path: Path) -> Iterator[tuple[str, str, FakeUpstream]]:
    """`ftgate serve` of the slim install, OpenAI's models on a fake upstream, and a local model
    folder in its models folder."""
    model = tmp_path / "models" / LOCAL_MODEL
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2", "max_position_embeddings": 512}))
    with FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=0.01) as fake:
        upstream = upstream_spec(fake.base_url).model_dump(mode="json")
        upstream |= {"api_key": UPSTREAM_KEY, "webhook_secret": None}
        env = _without_pythonpath() | {
            "FTGATE_DATA_DIR": str(tmp_path),
            "FTGATE_ADMIN_KEY": ADMIN_KEY,
            "FTGATE_UPSTREAMS": json.dumps([upstream]),
            "FTGATE_BASE_MODELS": json.dumps(
                [spec.model_dump(mode="json") | {"provider": UPSTREAM} for spec in DEFAULT_BASE_MODELS]
            ),
            "FTGATE_UPSTREAM_POLL_TICK_SECONDS": "0.1",
            "FTGATE_UPSTREAM_POLL_RUNNING_SECONDS": "0.2",
            "FTGATE_UPSTREAM_POLL_WAITING_SECONDS": "0.3",
        }
        port = free_port()
        with (tmp_path / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [str(slim_bin / "ftgate"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(base_url, server, tmp_path / "serve.log")
            key = subprocess.run(
                [str(slim_bin / "ftgate"), "keys", "create", "--project", "slim"],
                env=env, cwd=tmp_path, check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]  # fmt: skip
            yield base_url, key, fake
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"ftgate serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"ftgate serve did not answer:\n{log.read_text()}")


def test_a_slim_gateway_forwards_and_refuses_local_models(slim_server) -> None:
    base_url, key, fake = slim_server
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)

    listed = {model.id for model in client.models.list()}
    assert "gpt-4o-mini-2024-07-18" in listed and LOCAL_MODEL not in listed

    file_id = upload(client, "slim.jsonl", chat_lines(10))
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
    done = wait_for_status(client, job.id, {"succeeded"}, timeout=60)
    assert done.fine_tuned_model is not None and fake.jobs_created == 1
    answer = client.chat.completions.create(
        model=done.fine_tuned_model, messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content.endswith("hello")
    assert fake.requests_to("POST", "/chat/completions") == 1

    with pytest.raises(openai.BadRequestError) as refused_job:
        client.fine_tuning.jobs.create(model=LOCAL_MODEL, training_file=file_id)
    with pytest.raises(openai.BadRequestError) as refused_chat:
        client.chat.completions.create(model=LOCAL_MODEL, messages=[{"role": "user", "content": "hi"}])
    for refused in (refused_job.value, refused_chat.value):
        assert refused.code == "local_extra_missing" and refused.param == "model"
        assert "pip install 'ftgate[local]'" in refused.message


def test_the_slim_cli_says_what_a_local_command_needs(slim_bin: Path, tmp_path: Path) -> None:
    built = subprocess.run(
        [str(slim_bin / "ftgate"), "models", "build-tiny"],
        env=_without_pythonpath() | {"FTGATE_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 1
    assert "ftgate models build-tiny" in built.stderr and "ftgate[local]" in built.stderr
    assert "Traceback" not in built.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_a_slim_trainer_fails_the_local_job_it_is_handed(
    slim_bin: Path, tmp_path: Path, tiny_model: Path
) -> None:
    """A full gateway and worker validate a local job; the training queue's only worker is slim:
    the job fails with `local_extra_missing` instead of waiting for a trainer forever."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / TINY_MODEL).symlink_to(tiny_model)
    with temporary_database() as database_url:
        settings = Settings(
            data_dir=tmp_path,
            database_url=database_url,
            queue="celery",
            redis_url=REDIS_URL,
            redis_key_prefix=REDIS_KEY_PREFIX,
            celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
            celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
            **PARKED,
        )
        # The slim worker takes the training queue only (its other queue has no producer).
        training_only = settings.model_copy(update={"celery_queue": f"ftgate-idle-{secrets.token_hex(4)}"})
        with serve(settings) as gateway:
            validator = Worker(settings, PARKED_ENV, with_beat=False, trains=False)
            trainer = Worker(training_only, PARKED_ENV, with_beat=False, python=str(slim_bin / "python"))
            try:
                client = openai.OpenAI(
                    base_url=f"{gateway.base_url}/v1", api_key=gateway.create_key("slim"), max_retries=0
                )
                file_id = upload(client, "elle-limericks.jsonl")
                job = client.fine_tuning.jobs.create(model=TINY_MODEL, training_file=file_id)
                failed = wait_for_status(client, job.id, {"failed", "succeeded"}, timeout=120)
            finally:
                trainer.kill()
                validator.kill()
    assert failed.error is not None
    assert failed.error.code == "local_extra_missing" and failed.error.param == "model"
    assert "pip install 'ftgate[local]'" in failed.error.message
