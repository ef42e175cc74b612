"""A Redis server of one test's own, on a free port: the test may stop and start it again while
every other test, in this process or a parallel one, keeps the shared Redis."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.support.server import free_port


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is needed to run a Redis of the test's own")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self._folder)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self._process.poll() is None, "redis-server ended at start"
            assert time.monotonic() < deadline, "the private Redis did not answer in 30 s"
            time.sleep(0.05)

    def stop(self) -> None:
        """As a crash would: nothing is saved, every connection drops."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self._process = None

    def answers(self) -> bool:
        try:
            with redis.Redis(port=self.port, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False
