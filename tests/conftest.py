"""Shared fixtures: a real ftgate server per database backend, and SDK clients per project."""

import os

# One torch thread, for this process and the servers and workers it starts (they inherit the
# environment): the tiny model gains nothing from a second thread, while the local trainer
# shares the test process with the server's event loop and the SDK client. With two threads on
# two cores their OpenMP workers spin waiting for each other and for those, and a training step
# took ten times the CPU. Set before torch is first imported; a value given outside is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY
from tests.support.parked import PARKED
from tests.support.postgres import temporary_database
from tests.support.s3 import S3Server, moto_server
from tests.support.server import RunningServer, serve
from tests.support.wire import WireChecker

DATA = Path(__file__).parent / "data"
TEST_MAX_UPLOAD_BYTES = 4 * 1024 * 1024
# The Uploads API's limits, small enough to be reached quickly (64 MiB and 8 GiB by default).
TEST_MAX_UPLOAD_PART_BYTES = 256 * 1024
TEST_MAX_CHUNKED_UPLOAD_BYTES = 1024 * 1024
TINY_MODEL = "tiny-chat"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small chat model built offline once per test session (a few seconds)."""
    from training.tiny_model import build_tiny_chat_model, jsonl_strings

    corpus = [
        text
        for name in ("elle-limericks.jsonl", "marv-weighted.jsonl")
        for text in jsonl_strings(DATA / name)
    ]
    return build_tiny_chat_model(tmp_path_factory.mktemp("models") / TINY_MODEL, extra_corpus=corpus)


@contextmanager
def tiny_model_server(
    data_dir: Path, tiny_model: Path, database: str, **settings: Any
) -> Iterator[RunningServer]:
    """A server with the admin key, the tiny chat model in its models folder, on SQLite or on a
    fresh PostgreSQL database (`database` is "sqlite" or "postgres"), OpenAI's models parked on an
    upstream that is down (tests/support/parked.py) unless `settings` says otherwise."""
    (data_dir / "models").mkdir()
    (data_dir / "models" / TINY_MODEL).symlink_to(tiny_model)
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        config = Settings(
            data_dir=data_dir, database_url=database_url, admin_key=ADMIN_KEY, **(PARKED | settings)
        )
        yield stack.enter_context(serve(config))


SERVERS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# On SQLite, its blobs in a bucket of the S3 server the tests start.
S3_SERVER = pytest.param("s3", marks=pytest.mark.s3)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The shared `server` runs on each database; in a module marked `s3`, on the S3 blob store too."""
    if "server_kind" in metafunc.fixturenames:
        kinds = [*SERVERS, S3_SERVER] if metafunc.definition.get_closest_marker("s3") else SERVERS
        metafunc.parametrize("server_kind", kinds, scope="session")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_server() as running:
        yield running


@pytest.fixture(scope="session")
def server(
    server_kind: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model: Path,
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"ftgate-{server_kind}")
    storage = request.getfixturevalue("s3_server").settings() if server_kind == "s3" else {}
    with tiny_model_server(
        data_dir,
        tiny_model,
        "postgres" if server_kind == "postgres" else "sqlite",
        **storage,
        max_upload_bytes=TEST_MAX_UPLOAD_BYTES,
        max_upload_part_bytes=TEST_MAX_UPLOAD_PART_BYTES,
        max_chunked_upload_bytes=TEST_MAX_CHUNKED_UPLOAD_BYTES,
        reconcile_interval_seconds=1.0,
    ) as running:
        yield running


@pytest.fixture
def wire() -> Iterator[WireChecker]:
    checker = WireChecker()
    yield checker
    assert not checker.failures, "\n".join(checker.failures)


ClientFactory = Callable[[], openai.OpenAI]


def sdk_client(server: RunningServer, key: str, wire: WireChecker) -> openai.OpenAI:
    """The official SDK on `key`, every response checked by `wire`, no retries."""
    http_client = httpx2.Client(event_hooks={"response": [wire]}, timeout=60)
    return openai.OpenAI(
        base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, http_client=http_client
    )


@pytest.fixture
def make_client(server: RunningServer, wire: WireChecker) -> Iterator[ClientFactory]:
    """Each call makes a new project with its own key, and an SDK client that uses it."""
    clients: list[openai.OpenAI] = []

    def make() -> openai.OpenAI:
        client = sdk_client(server, server.create_key(f"project-{secrets.token_hex(4)}"), wire)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> openai.OpenAI:
    return make_client()
