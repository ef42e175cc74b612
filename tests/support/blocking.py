"""Sync test code that starts its own event loop (asyncio.run, Alembic's env), also where a loop
already runs on this thread: Playwright's sync API keeps one running for the whole session."""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Calls `function` here, or on a thread of its own while this thread runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(function, *args, **kwargs).result()


def wait_for(coroutine: Coroutine[Any, Any, T]) -> T:
    return off_loop(asyncio.run, coroutine)
