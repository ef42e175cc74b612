"""Several ftgate nodes on one machine: gateway processes, Celery workers and trainers (Celery
workers on the training queue alone), each with a data folder of its own and nothing of another's,
sharing only PostgreSQL, Redis and an S3 bucket. Every node runs in its own process group, so
that a test can SIGKILL it mid-job."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.settings import Settings
from tests.support.celery_worker import REPO, Worker
from tests.support.parked import PARKED_ENV
from tests.support.server import free_port

TINY_MODEL = "tiny-chat"
# Short enough that a node killed mid-job is replaced within seconds.
JOB_LEASE_SECONDS = 3


def storage_env(storage: dict[str, object]) -> dict[str, str]:
    """Settings such as `S3Server.settings()` as the FTGATE_ variables of another process."""
    return {f"FTGATE_{name.upper()}": str(value) for name, value in storage.items()}


class Gateway:
    """`ftgate serve` on `data_dir`, on a free port (the database already migrated)."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.data_dir = data_dir
        self.base_url = f"http://127.0.0.1:{free_port()}"
        port = self.base_url.rpartition(":")[2]
        command = [sys.executable, "-m", "gateway.cli", "serve", "--no-migrate", "--port", port]
        log = data_dir / "node.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--log-level", "warning"],
                cwd=REPO,
                env={**env, "FTGATE_DATA_DIR": str(data_dir)},
                start_new_session=True,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill()
                raise RuntimeError(f"the gateway did not start; see {log}")
            time.sleep(0.1)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class Cluster:
    """Makes nodes on `settings` (the shared database, Redis, queues) and `storage` (the bucket);
    each node gets a new data folder under `root` with `tiny_model` in its models folder, the one
    thing it must hold itself."""

    def __init__(self, settings: Settings, storage: dict[str, object], root: Path, tiny_model: Path) -> None:
        self.settings = settings
        self.root = root
        self.tiny_model = tiny_model
        self.env = {
            "FTGATE_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
            "FTGATE_RECONCILE_INTERVAL_SECONDS": str(settings.reconcile_interval_seconds),
            **PARKED_ENV,
            **storage_env(storage),
        }
        self.nodes: list[Gateway | Worker] = []

    def new_data_dir(self, role: str) -> Path:
        folder = self.root / f"{role}-{secrets.token_hex(3)}"
        (folder / "models").mkdir(parents=True)
        (folder / "models" / TINY_MODEL).symlink_to(self.tiny_model)
        return folder

    def gateway(self) -> Gateway:
        env = {
            **os.environ,
            **self.env,
            "FTGATE_DATABASE_URL": self.settings.database_url,
            "FTGATE_QUEUE": "celery",
            "FTGATE_REDIS_URL": self.settings.redis_url,
            "FTGATE_REDIS_KEY_PREFIX": self.settings.redis_key_prefix,
            "FTGATE_CELERY_QUEUE": self.settings.celery_queue,
            "FTGATE_CELERY_TRAINING_QUEUE": self.settings.celery_training_queue,
        }
        node = Gateway(env, self.new_data_dir("gateway"))
        self.nodes.append(node)
        return node

    def worker(self) -> Worker:
        """A Celery worker with beat (the reconciler): validation, evals, webhooks, no training."""
        return self._worker("worker", with_beat=True, trains=False)

    def trainer(self) -> Worker:
        return self._worker("trainer", with_beat=False, only_trains=True)

    def _worker(self, role: str, with_beat: bool, **queues: bool) -> Worker:
        data_dir = self.new_data_dir(role)
        settings = self.settings.model_copy(update={"data_dir": data_dir})
        with (data_dir / "node.log").open("ab") as log:
            node = Worker(settings, self.env, with_beat, log=log, **queues)
        self.nodes.append(node)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
