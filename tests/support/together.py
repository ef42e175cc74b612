"""An ftgate server whose Llama base model runs on the scripted Together upstream
(tests/support/fake_together)."""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from gateway.catalog import BaseModelSpec
from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY
from tests.support.fake_together import FakeTogether
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, serve
from tests.support.upstream import FAST_POLLING

TOGETHER = "tg"
TOGETHER_KEY = "tgp_v1_" + secrets.token_hex(20)
LLAMA = "llama-3.1-8b-instruct"
TOGETHER_LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def together_settings(data_dir: Path, database_url: str, base_url: str) -> Settings:
    upstream = {
        "name": TOGETHER,
        "kind": "together",
        "base_url": base_url,
        "api_key": TOGETHER_KEY,
        "timeout_seconds": 1.0,
        "attempts": 3,
        "max_retry_after_seconds": 5.0,
        "resend_after_seconds": 2.0,
    }
    llama = BaseModelSpec(
        id=LLAMA, created=1721692800, provider=TOGETHER, upstream_model=TOGETHER_LLAMA, token_limit=8192
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
def together_server(data_dir: Path, database: str, fake: FakeTogether) -> Iterator[RunningServer]:
    """A server whose Llama model runs on `fake`, on SQLite or on a fresh PostgreSQL database
    (`database` is "sqlite" or "postgres")."""
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        yield stack.enter_context(serve(together_settings(data_dir, database_url, fake.base_url)))
