"""Validation of fine-tune files runs in a few long-lived child processes.

Token counting is CPU-bound and needs the tokenizer's vocabulary in memory (~64 MB for
o200k_base). In children it never stalls the gateway's event loop, runs in parallel with
request handling, and the vocabulary is loaded once per child, not in every gateway process.

A child validates many uploads at once, each in a validator of its own keyed by a session
number. An upload holds no child, only its state in one: a client that sends slowly or stops
sending costs the others nothing, and a chunk waits only while its child takes other chunks
(the shared pipe applies backpressure, one message at a time).
"""

import itertools
import multiprocessing
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import anyio

from gateway.errors import ServerError
from gateway.validation import TrainingFileValidator, ValidationReport

START, FEED, FINISH, DROP = b"S", b"F", b"E", b"D"
SESSION_BYTES = 8
WARM_UP_EXAMPLE = (
    b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
)


def _serve(connection: Connection) -> None:
    """The child's loop over messages `kind + session + payload`: START encoding:limit,
    FEED bytes..., FINISH -> report dict, or DROP to forget an abandoned file."""
    validators: dict[bytes, TrainingFileValidator] = {}
    while True:
        try:
            message = connection.recv_bytes()
        except EOFError:
            return
        kind, session, payload = message[:1], message[1 : 1 + SESSION_BYTES], message[1 + SESSION_BYTES :]
        if kind == START:
            encoding, limit = payload.decode().split(":")
            validators[session] = TrainingFileValidator(encoding, token_limit=int(limit))
        elif kind == FEED:
            validators[session].feed(payload)
        elif kind == FINISH:
            connection.send(validators.pop(session).finish().to_dict())
        elif kind == DROP:
            validators.pop(session, None)


class ValidatorStopped(ServerError):
    status_code = 503


def _stopped() -> ValidatorStopped:
    return ValidatorStopped("The file validator stopped unexpectedly; please retry the upload.")


class ValidatorChild:
    """One child process. Its methods block: call them from worker threads, any number at once."""

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        self._connection, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()
        self._pipe = threading.Lock()
        self.healthy = True
        self.sessions = 0

    def send(self, message: bytes) -> None:
        with self._pipe:
            self._send(message)

    def ask(self, message: bytes) -> Any:
        """Sends `message` and reads its reply with no other message in between."""
        with self._pipe:
            self._send(message)
            try:
                return self._connection.recv()
            except (OSError, EOFError) as error:
                self.healthy = False
                raise _stopped() from error

    def _send(self, message: bytes) -> None:
        if not self.healthy:
            raise _stopped()
        try:
            self._connection.send_bytes(message)
        except (OSError, EOFError) as error:
            self.healthy = False
            raise _stopped() from error

    def usable(self) -> bool:
        return self.healthy and self.process.is_alive()

    def close(self) -> None:
        self._connection.close()
        self.process.terminate()
        self.process.join(timeout=5)


class RemoteValidator:
    """One file's validator inside a child. `feed` and `finish` block: call them from a worker
    thread."""

    def __init__(self, child: ValidatorChild, session: int) -> None:
        self.child = child
        self.process = child.process
        self._session = session.to_bytes(SESSION_BYTES, "big")
        self.finished = False

    def start(self, encoding: str, token_limit: int) -> None:
        self.child.send(START + self._session + f"{encoding}:{token_limit}".encode())

    def feed(self, chunk: bytes) -> None:
        self.child.send(FEED + self._session + chunk)

    def finish(self) -> ValidationReport:
        report = ValidationReport.from_dict(self.child.ask(FINISH + self._session))
        self.finished = True
        return report

    def drop(self) -> None:
        """Frees the child's state of a file that will not be finished."""
        if not self.finished and self.child.usable():
            self.child.send(DROP + self._session)


class InlineValidator:
    """The same calls, validated in this process: for daemonic processes such as Celery's
    prefork children, which may not start children of their own."""

    def __init__(self) -> None:
        self._validator: TrainingFileValidator | None = None

    def start(self, encoding: str, token_limit: int) -> None:
        self._validator = TrainingFileValidator(encoding, token_limit=token_limit)

    def feed(self, chunk: bytes) -> None:
        assert self._validator is not None
        self._validator.feed(chunk)

    def finish(self) -> ValidationReport:
        assert self._validator is not None
        return self._validator.finish()

    def drop(self) -> None:
        self._validator = None


Validator = RemoteValidator | InlineValidator


class ValidatorPool:
    def __init__(self, size: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._size = size
        self._children: list[ValidatorChild] = []
        self._spawning = anyio.Lock()
        self._sessions = itertools.count()

    @asynccontextmanager
    async def session(self, encoding: str, token_limit: int) -> AsyncIterator[Validator]:
        """A validator for one file, on the child with the fewest files in progress."""
        if multiprocessing.current_process().daemon:
            inline = InlineValidator()
            inline.start(encoding, token_limit)
            yield inline
            return
        child = await self._least_busy_child()
        validator = RemoteValidator(child, next(self._sessions))
        child.sessions += 1
        try:
            await anyio.to_thread.run_sync(validator.start, encoding, token_limit)
            yield validator
        finally:
            child.sessions -= 1
            with suppress(ValidatorStopped):
                await anyio.to_thread.run_sync(validator.drop)
            if not child.usable() and child.sessions == 0:
                await self._retire(child)

    async def _least_busy_child(self) -> ValidatorChild:
        async with self._spawning:
            for child in [child for child in self._children if not child.usable()]:
                await self._retire(child)
            if len(self._children) < self._size:
                self._children.append(await anyio.to_thread.run_sync(ValidatorChild, self._context))
        return min(self._children, key=lambda child: child.sessions)

    async def _retire(self, child: ValidatorChild) -> None:
        if child in self._children:
            self._children.remove(child)
            await anyio.to_thread.run_sync(child.close)

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
        while self._children:
            self._children.pop().close()
