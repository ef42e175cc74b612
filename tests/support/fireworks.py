"""An ftgate server whose Llama base model runs on the scripted Fireworks upstream
(tests/support/fake_fireworks)."""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from gateway.catalog import BaseModelSpec
from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY
from tests.support.fake_fireworks import FakeFireworks
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, serve
from tests.support.upstream import FAST_POLLING

FIREWORKS = "fw"
FIREWORKS_KEY = "fw_" + secrets.token_hex(20)
ACCOUNT = "acme"
LLAMA = "llama-3.1-8b-instruct"
FIREWORKS_LLAMA = "accounts/fireworks/models/llama-v3p1-8b-instruct"


def fireworks_settings(data_dir: Path, database_url: str, base_url: str) -> Settings:
    upstream = {
        "name": FIREWORKS,
        "kind": "fireworks",
        "base_url": base_url,
        "api_key": FIREWORKS_KEY,
        "account_id": ACCOUNT,
        "timeout_seconds": 1.0,
        "attempts": 3,
        "max_retry_after_seconds": 5.0,
        "resend_after_seconds": 2.0,
    }
    llama = BaseModelSpec(
        id=LLAMA, created=1721692800, provider=FIREWORKS, upstream_model=FIREWORKS_LLAMA, token_limit=8192
    )
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "admin_key": ADMIN_KEY,
        "reconcile_interval_seconds": 1.0,
        "upstreams": [upstream],
        "base_models": [llama],
        **FAST_POLLING,
    }
    return Settings.model_validate(values)


@contextmanager
def fireworks_server(data_dir: Path, database: str, fake: FakeFireworks) -> Iterator[RunningServer]:
    """A server whose Llama model runs on `fake`, on SQLite or on a fresh PostgreSQL database
    (`database` is "sqlite" or "postgres")."""
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        yield stack.enter_context(serve(fireworks_settings(data_dir, database_url, fake.base_url)))
