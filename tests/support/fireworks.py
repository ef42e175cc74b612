"""An ftgate server whose Llama base model runs on the scripted Fireworks upstream
(tests/support/fake_fireworks)."""

import secrets
from contextlib import AbstractContextManager
from pathlib import Path

from tests.support.fake_fireworks import FakeFireworks
from tests.support.server import RunningServer
from tests.support.upstream import one_model_server

FIREWORKS = "fw"
FIREWORKS_KEY = "fw_" + secrets.token_hex(20)
ACCOUNT = "acme"
FIREWORKS_LLAMA = "accounts/fireworks/models/llama-v3p1-8b-instruct"


def scripted_fireworks() -> FakeFireworks:
    """The scripted Fireworks, at test speed, on `FIREWORKS_KEY` and `ACCOUNT` (a context manager:
    it serves inside `with`)."""
    return FakeFireworks(api_key=FIREWORKS_KEY, account=ACCOUNT, step_seconds=0.02, phase_seconds=0.05)


def fireworks_server(
    data_dir: Path,
    database: str,
    fake: FakeFireworks,
    training_price_per_1m: float = 0.0,
    **upstream_options: object,
) -> AbstractContextManager[RunningServer]:
    """A server whose Llama model runs on `fake`, on SQLite or on a fresh PostgreSQL database
    (`database` is "sqlite" or "postgres"), at ftgate's `training_price_per_1m`, the upstream
    configured with `upstream_options` besides."""
    upstream = {
        "name": FIREWORKS,
        "kind": "fireworks",
        "base_url": fake.base_url,
        "api_key": FIREWORKS_KEY,
        "account_id": ACCOUNT,
    } | upstream_options
    return one_model_server(
        data_dir, database, upstream, FIREWORKS_LLAMA, training_price_per_1m=training_price_per_1m
    )
