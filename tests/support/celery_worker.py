"""`celery -A workers.celery_app worker` as a child process in its own process group, so that a
test can SIGKILL it with its pool and beat at once."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from gateway.settings import Settings

REPO = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        with_beat: bool,
        trains: bool = True,
        log_level: str = "warning",
        log: IO[bytes] | None = None,
        only_trains: bool = False,
        python: str = sys.executable,
    ) -> None:
        """A worker on `settings`' queue and, if it `trains`, on the training queue (on that one
        alone if it `only_trains`: a trainer); `env` adds what it needs beyond their place; its log
        goes to `log` (a file) if given; `python` is the interpreter it runs on."""
        queues = [settings.celery_queue, *([settings.celery_training_queue] if trains else [])]
        if only_trains:
            queues = [settings.celery_training_queue]
        self.data_dir = settings.data_dir
        command = [
            python,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-Q",
            ",".join(queues),
            "-c",
            "1",
            "-l",
            log_level,
        ]
        if with_beat:
            command += ["-B", "-s", str(settings.data_dir / f"beat-{secrets.token_hex(4)}")]
        full_env = {
            **os.environ,
            "FTGATE_DATA_DIR": str(settings.data_dir),
            "FTGATE_DATABASE_URL": settings.database_url,
            "FTGATE_QUEUE": "celery",
            "FTGATE_REDIS_URL": settings.redis_url,
            "FTGATE_REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "FTGATE_CELERY_QUEUE": settings.celery_queue,
            "FTGATE_CELERY_TRAINING_QUEUE": settings.celery_training_queue,
            **env,
        }
        self.process = subprocess.Popen(command, cwd=REPO, env=full_env, start_new_session=True, stderr=log)

    def kill(self) -> None:
        """SIGKILL the worker, its pool and its beat."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
