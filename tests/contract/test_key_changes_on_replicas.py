"""Two `ftgate serve` processes on one PostgreSQL and one Redis, each with its own data folder and
a key cache that would trust a key for minutes: a key revoked, or a project's limit changed,
through one is refused or applied by the other on its very next request."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.admin import ADMIN_KEY, Admin
from tests.support.postgres import temporary_database
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FTGATE = str(Path(sys.executable).parent / "ftgate")
JOBS = "/v1/fine_tuning/jobs"


@contextmanager
def replica(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"], env=env
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base_url}/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "ftgate serve did not start"
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        shared = {
            **os.environ,
            "FTGATE_DATABASE_URL": stack.enter_context(temporary_database()),
            "FTGATE_RATE_LIMITER": "redis",
            "FTGATE_REDIS_URL": REDIS_URL,
            "FTGATE_REDIS_KEY_PREFIX": REDIS_KEY_PREFIX,
            "FTGATE_ADMIN_KEY": ADMIN_KEY,
            "FTGATE_KEY_CACHE_SECONDS": "600",
        }
        envs = [shared | {"FTGATE_DATA_DIR": str(tmp_path_factory.mktemp(f"replica{n}"))} for n in (1, 2)]
        subprocess.run([FTGATE, "migrate"], env=envs[0], check=True, capture_output=True)
        first, second = (stack.enter_context(replica(env)) for env in envs)
        yield first, second


def status(base_url: str, secret: str) -> int:
    return httpx.get(base_url + JOBS, headers={"authorization": f"Bearer {secret}"}).status_code


def test_a_key_revoked_through_one_replica_is_refused_by_the_other(replicas: tuple[str, str]):
    first, second = replicas
    admin = Admin(first)
    key = admin.create_key(admin.create_project("revoked-on-replicas")["id"])
    # Both replicas have verified the key, and would trust it for ten minutes.
    assert [status(first, key["value"]), status(second, key["value"])] == [200, 200]

    admin.revoke(key["id"])

    assert [status(second, key["value"]), status(first, key["value"])] == [401, 401]


def test_a_project_limit_set_through_one_replica_holds_on_the_other(replicas: tuple[str, str]):
    first, second = replicas
    admin = Admin(first)
    project = admin.create_project("limited-on-replicas")
    key = admin.create_key(project["id"])
    assert [status(second, key["value"]) for _ in range(3)] == [200, 200, 200]

    admin.set_project_limits(project["id"], requests_per_minute=1)

    assert [status(second, key["value"]) for _ in range(2)] == [200, 429]
