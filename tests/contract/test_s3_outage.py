"""The object store gone (its server stopped): what needs it is a 503 in OpenAI's envelope, soon,
which the SDK retries; what needs only the database still answers, and /readyz names the store."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import openai
import pytest

from gateway.storage.base import StoreUnavailable
from gateway.storage.choice import blob_store, folder_store
from tests.conftest import sdk_client, tiny_model_server
from tests.support.jobs import upload
from tests.support.s3 import moto_server
from tests.support.server import RunningServer
from tests.support.wire import WireChecker

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def outage(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[tuple[RunningServer, ExitStack]]:
    """A server on a bucket of its own S3 server, and that S3 server's stack: closing it stops it."""
    with ExitStack() as server_stack:
        s3_stack = server_stack.enter_context(ExitStack())
        s3 = s3_stack.enter_context(moto_server())
        server = server_stack.enter_context(
            tiny_model_server(
                tmp_path_factory.mktemp("ftgate-s3-outage"), tiny_model, "sqlite", **s3.settings()
            )
        )
        yield server, s3_stack


def test_what_needs_the_store_is_a_503_while_it_is_gone(outage: tuple[RunningServer, ExitStack]):
    server, s3_stack = outage
    wire = WireChecker()
    client = sdk_client(server, server.create_key("s3-outage"), wire)
    file_id = upload(client, "elle-limericks.jsonl")
    assert httpx.get(f"{server.base_url}/readyz").json()["checks"]["blob_store"] == "ok"

    s3_stack.close()  # the S3 server stops
    for call in (
        lambda: client.files.content(file_id),
        lambda: upload(client, "elle-limericks.jsonl"),
    ):
        with pytest.raises(openai.InternalServerError) as refused:
            call()
        assert refused.value.status_code == 503
        assert refused.value.body == {  # type: ignore[comparison-overlap]
            "message": "The storage of files and models cannot be reached right now; please try again later.",
            "type": "server_error",
            "param": None,
            "code": "storage_unavailable",
        }
    assert client.files.retrieve(file_id).id == file_id  # the database alone
    ready = httpx.get(f"{server.base_url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["blob_store"].startswith("unreachable")
    assert ready.json()["checks"]["database"] == "ok"
    with pytest.raises(StoreUnavailable):  # what a chat asks for a fine-tuned model's adapter
        folder_store(server.settings, blob_store(server.settings)).fetch("ftjob-x/model")
    assert not wire.failures, wire.failures
