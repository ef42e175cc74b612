"""An ftgate server whose GPT-4o mini runs on the scripted Azure OpenAI resource
(tests/support/fake_azure)."""

import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from tests.support.fake_azure import FakeAzure
from tests.support.server import RunningServer
from tests.support.upstream import one_model_server

AZURE = "az"
AZURE_KEY = secrets.token_hex(16)
ARM_TOKEN = "eyJ0eXAiOiJKV1Qi." + secrets.token_hex(24)
GPT = "gpt-4o-mini-2024-07-18"


@contextmanager
def scripted_azure() -> Iterator[FakeAzure]:
    """The scripted Azure resource, at test speed, serving `GPT` as a base deployment."""
    with FakeAzure(
        AZURE_KEY, token=ARM_TOKEN, step_seconds=0.02, validate_seconds=0.1, queue_seconds=0.3
    ) as up:
        up.add_base_deployment(GPT)
        yield up


def azure_server(data_dir: Path, database: str, fake: FakeAzure) -> AbstractContextManager[RunningServer]:
    """A server whose GPT model runs on `fake` under the same name, on SQLite or on a fresh
    PostgreSQL database (`database` is "sqlite" or "postgres")."""
    upstream = {
        "name": AZURE,
        "kind": "azure",
        "base_url": fake.base_url,
        "api_key": AZURE_KEY,
        "azure_deployment": fake.deployment_settings(ARM_TOKEN),
    }
    return one_model_server(data_dir, database, upstream, GPT, model=GPT)
