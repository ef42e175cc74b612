"""An ftgate server whose Llama base model runs on the scripted Together upstream
(tests/support/fake_together)."""

import secrets
from contextlib import AbstractContextManager
from pathlib import Path

from tests.support.fake_together import FakeTogether
from tests.support.server import RunningServer
from tests.support.upstream import one_model_server

TOGETHER = "tg"
TOGETHER_KEY = "tgp_v1_" + secrets.token_hex(20)
TOGETHER_LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def scripted_together() -> FakeTogether:
    """The scripted Together, at test speed, on `TOGETHER_KEY` (a context manager: it serves
    inside `with`)."""
    return FakeTogether(api_key=TOGETHER_KEY, step_seconds=0.02, phase_seconds=0.05)


def together_server(
    data_dir: Path,
    database: str,
    fake: FakeTogether,
    training_price_per_1m: float = 0.0,
    home: Path | None = None,
    **upstream_options: object,
) -> AbstractContextManager[RunningServer]:
    """A server whose Llama model runs on `fake`, on SQLite or on a fresh PostgreSQL database
    (`database` is "sqlite" or "postgres"), at ftgate's `training_price_per_1m`, its adapters
    served at home on `home` (a local model folder) when given, the upstream configured with
    `upstream_options` besides."""
    upstream = {
        "name": TOGETHER,
        "kind": "together",
        "base_url": fake.base_url,
        "api_key": TOGETHER_KEY,
    } | upstream_options
    return one_model_server(
        data_dir, database, upstream, TOGETHER_LLAMA, training_price_per_1m=training_price_per_1m, home=home
    )
