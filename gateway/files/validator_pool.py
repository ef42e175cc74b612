"""Validation of fine-tune files runs in a few long-lived child processes.

Token counting is CPU-bound and needs the tokenizer's vocabulary in memory (~64 MB for
o200k_base). In children it never stalls the gateway's event loop, runs in parallel with
request handling, and the vocabulary is loaded once per child, not in every gateway process.
A checked-out child validates one file at a time; the pipe between them applies backpressure.
"""

import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import anyio

from gateway.errors import ServerError
from gateway.validation import TrainingFileValidator, ValidationReport

START, FEED, FINISH = b"S", b"F", b"E"
WARM_UP_EXAMPLE = (
    b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
)


def _serve(connection: Connection) -> None:
    """The child's loop: START encoding:limit, FEED bytes..., FINISH -> report dict."""
    validator: TrainingFileValidator | None = None
    while True:
        try:
            message = connection.recv_bytes()
        except EOFError:
            return
        kind, payload = message[:1], message[1:]
        if kind == START:
            encoding, limit = payload.decode().split(":")
            validator = TrainingFileValidator(encoding, token_limit=int(limit))
        elif kind == FEED and validator is not None:
            validator.feed(payload)
        elif kind == FINISH and validator is not None:
            connection.send(validator.finish().to_dict())
            validator = None


class ValidatorStopped(ServerError):
    status_code = 503


class ValidatorBusy(ServerError):
    status_code = 503


class RemoteValidator:
    """One child process. `feed` and `finish` block: call them from a worker thread."""

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        self._connection, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()
        self.healthy = True

    def _send(self, message: bytes) -> None:
        try:
            self._connection.send_bytes(message)
        except (OSError, EOFError) as error:
            raise self._stopped() from error

    def _stopped(self) -> ValidatorStopped:
        self.healthy = False
        return ValidatorStopped("The file validator stopped unexpectedly; please retry the upload.")

    def start(self, encoding: str, token_limit: int) -> None:
        self._send(START + f"{encoding}:{token_limit}".encode())

    def feed(self, chunk: bytes) -> None:
        self._send(FEED + chunk)

    def finish(self) -> ValidationReport:
        self._send(FINISH)
        # Until the reply is read the pipe is out of step: a session abandoned here is unusable.
        self.healthy = False
        try:
            report = ValidationReport.from_dict(self._connection.recv())
        except (OSError, EOFError) as error:
            raise self._stopped() from error
        self.healthy = True
        return report

    def is_alive(self) -> bool:
        return self.process.is_alive()

    def close(self) -> None:
        self._connection.close()
        self.process.terminate()
        self.process.join(timeout=5)


class InlineValidator:
    """The same calls, validated in this process: for daemonic processes such as Celery's
    prefork children, which may not start children of their own."""

    def __init__(self) -> None:
        self._validator: TrainingFileValidator | None = None
        self.healthy = True

    def start(self, encoding: str, token_limit: int) -> None:
        self._validator = TrainingFileValidator(encoding, token_limit=token_limit)

    def feed(self, chunk: bytes) -> None:
        assert self._validator is not None
        self._validator.feed(chunk)

    def finish(self) -> ValidationReport:
        assert self._validator is not None
        return self._validator.finish()

    def is_alive(self) -> bool:
        return True

    def close(self) -> None:
        self._validator = None


Validator = RemoteValidator | InlineValidator


class ValidatorPool:
    def __init__(self, size: int, slot_wait_seconds: float = 60.0) -> None:
        self._slot_wait_seconds = slot_wait_seconds
        self._context = multiprocessing.get_context("spawn")
        self._size = size
        self._slots = anyio.Semaphore(size)
        self._idle: list[Validator] = []

    @asynccontextmanager
    async def session(self, encoding: str, token_limit: int) -> AsyncIterator[Validator]:
        """A child ready to validate one file; it goes back to the pool unless it failed."""
        with anyio.move_on_after(self._slot_wait_seconds) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            raise ValidatorBusy(
                "All file validators are busy; please retry the upload shortly.", headers={"retry-after": "5"}
            )
        try:
            validator = await self._checkout(encoding, token_limit)
            try:
                yield validator
            finally:
                # A file left half-fed is harmless: the next START discards the child's state.
                if validator.healthy and validator.is_alive():
                    self._idle.append(validator)
                else:
                    await anyio.to_thread.run_sync(validator.close)
        finally:
            self._slots.release()

    async def _checkout(self, encoding: str, token_limit: int) -> Validator:
        """An idle child that takes the START, or else a new one."""
        while self._idle:
            validator = self._idle.pop()
            try:
                await anyio.to_thread.run_sync(validator.start, encoding, token_limit)
                return validator
            except ValidatorStopped:
                await anyio.to_thread.run_sync(validator.close)
        if multiprocessing.current_process().daemon:
            inline = InlineValidator()
            inline.start(encoding, token_limit)
            return inline
        remote = await anyio.to_thread.run_sync(RemoteValidator, self._context)
        try:
            await anyio.to_thread.run_sync(remote.start, encoding, token_limit)
        except ValidatorStopped:
            await anyio.to_thread.run_sync(remote.close)
            raise
        return remote

    async def warm(self, encoding: str, token_limit: int) -> None:
        """Start every child and load its vocabulary now, so the first upload does not wait."""

        async def warm_one() -> None:
            async with self.session(encoding, token_limit) as validator:
                await anyio.to_thread.run_sync(validator.feed, WARM_UP_EXAMPLE)
                await anyio.to_thread.run_sync(validator.finish)

        async with anyio.create_task_group() as group:
            for _ in range(self._size):
                group.start_soon(warm_one)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
