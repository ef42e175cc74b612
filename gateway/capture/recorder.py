"""Recording one forwarded chat, after its answer has gone to the client.

Only the capture of the caller's project for the model the caller named records; it decides by
its sampling rate, its dropped fields and its caps, then appends the example to its training
file or, by the prompt's hash, to its held-out file. The whole append (the blob, the file's
row, the capture's totals) happens under the capture's row lock, in one transaction. Nothing
here may reach the client: a failure is logged."""

import logging
import random
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.capture import answers, examples, files, repository
from gateway.capture.tally import Tally, measure
from gateway.chat.forwarding import AnswerHook
from gateway.models import Capture
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


def hook(runtime: Runtime, project_id: str, model: str, body: dict[str, Any]) -> AnswerHook:
    async def on_answer(reply: bytes, streamed: bool) -> None:
        try:
            await record(runtime, project_id, model, body, reply, streamed)
        except Exception:
            log.exception("capture of a chat with %s for project %s failed", model, project_id)

    return on_answer


async def record(
    runtime: Runtime, project_id: str, model: str, body: dict[str, Any], reply: bytes, streamed: bool
) -> bool:
    """Whether the chat was recorded."""
    async with runtime.sessions() as session:
        capture = await repository.get(session, project_id, model)
    if capture is None or not _wanted(capture, body):
        return False
    message = answers.from_stream(reply) if streamed else answers.from_completion(reply)
    answer = examples.answer_message(message) if message is not None else None
    if answer is None:
        return False
    target = files.Target(
        held_out=examples.held_out(examples.prompt_messages(body), capture.held_out_fraction)
    )
    counts = Tally()
    if target.held_out:
        line = examples.eval_line(body, answer)
    else:
        line = examples.training_line(body, answer)
        measured = await measure(runtime.validators, line)
        if not isinstance(measured, Tally):
            log.info("capture %s skips a chat that is no valid example: %s", capture.id, measured.issues)
            return False
        counts = measured
    async with runtime.transaction() as session:
        locked = await repository.lock(session, capture.id)
        if locked is None or not locked.enabled or locked.capped_at is not None:
            return False
        return await _append(session, runtime, locked, target, line, counts)


def _wanted(capture: Capture, body: dict[str, Any]) -> bool:
    if not capture.enabled or capture.capped_at is not None:
        return False
    if random.random() >= capture.sample_rate:
        return False
    return not examples.drops(body, capture.drop_fields)


async def _append(
    session: AsyncSession,
    runtime: Runtime,
    capture: Capture,
    target: files.Target,
    line: bytes,
    counts: Tally,
) -> bool:
    stored = await files.current(session, capture, target)
    if stored is None:  # the first line, or its file was deleted: a new file, totals start again
        _restart(capture, target)
    examples_after = capture.training_examples + capture.held_out_examples + 1
    bytes_after = capture.training_bytes + capture.held_out_bytes + len(line)
    if examples_after > capture.max_examples or bytes_after > capture.max_bytes:
        capture.capped_at = int(time.time())
        return False
    if stored is None:
        stored = files.new_file(session, capture, target)
        _set_file(capture, target, stored.id)
    lines_after = target.lines(capture) + 1
    await files.append(session, runtime.blobs, stored, line, lines_after)
    if target.held_out:
        capture.held_out_examples, capture.held_out_bytes = lines_after, stored.bytes
    else:
        capture.training_examples, capture.training_bytes = lines_after, stored.bytes
        tally = Tally.of(capture.tally).plus(counts)
        capture.tally = tally.to_dict()
        stored.validation = tally.report().to_dict()
    return True


def _restart(capture: Capture, target: files.Target) -> None:
    if target.held_out:
        capture.held_out_examples, capture.held_out_bytes = 0, 0
    else:
        capture.training_examples, capture.training_bytes = 0, 0
        capture.tally = Tally().to_dict()


def _set_file(capture: Capture, target: files.Target, file_id: str) -> None:
    if target.held_out:
        capture.held_out_file_id = file_id
    else:
        capture.training_file_id = file_id
