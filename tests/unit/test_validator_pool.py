"""The validator child processes: same reports as in-process, and dead children replaced."""

import os
import signal
import time
from pathlib import Path

import anyio
import pytest

from gateway.files.validator_pool import ValidatorPool, ValidatorStopped
from gateway.validation import validate_chunks
from tests.support.jobs import DATA

ELLE = (DATA / "elle-limericks.jsonl").read_bytes()


async def validate_remotely(pool: ValidatorPool, content: bytes, encoding: str = "o200k_base"):
    async with pool.session(encoding, 65536) as validator:
        for start in range(0, len(content), 1000):
            await anyio.to_thread.run_sync(validator.feed, content[start : start + 1000])
        return await anyio.to_thread.run_sync(validator.finish), validator.process.pid


@pytest.fixture
def pool():
    validators = ValidatorPool(1)
    yield validators
    validators.close()


async def test_child_report_equals_the_in_process_report(pool: ValidatorPool):
    for encoding in ("o200k_base", "cl100k_base"):
        report, _ = await validate_remotely(pool, ELLE, encoding)
        assert report == validate_chunks([ELLE], encoding, token_limit=65536)


async def test_a_child_is_reused_and_a_half_fed_file_does_not_leak_into_the_next(pool: ValidatorPool):
    async with pool.session("o200k_base", 65536) as validator:
        await anyio.to_thread.run_sync(validator.feed, b'{"broken')
        first_pid = validator.process.pid
    report, pid = await validate_remotely(pool, ELLE)
    assert pid == first_pid
    assert report.is_valid and report.n_examples == 10


def kill_and_wait(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 10
    while stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)


async def test_a_dead_idle_child_is_replaced(pool: ValidatorPool):
    _, pid = await validate_remotely(pool, ELLE)
    kill_and_wait(pid)
    report, new_pid = await validate_remotely(pool, ELLE)
    assert new_pid != pid and report.n_examples == 10


async def test_a_child_killed_mid_file_is_a_503_and_the_next_file_validates(pool: ValidatorPool):
    with pytest.raises(ValidatorStopped) as stopped:
        async with pool.session("o200k_base", 65536) as validator:
            await anyio.to_thread.run_sync(validator.feed, ELLE[:100])
            os.kill(validator.process.pid, signal.SIGKILL)
            validator.process.join()
            await anyio.to_thread.run_sync(validator.feed, ELLE[100:])
            await anyio.to_thread.run_sync(validator.finish)
    assert stopped.value.status_code == 503
    report, _ = await validate_remotely(pool, ELLE)
    assert report.n_examples == 10
