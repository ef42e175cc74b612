"""Continuous batching for one base model: a thread that decodes every running sequence one token
per step, admits waiting requests between steps, and lets finished, cancelled and timed-out
sequences leave at once.

A request's `n` choices are `n` rows sharing one prefill. Rows with different adapters share a
step (PEFT's mixed adapter batches); a request whose adapter would need a slot that running rows
hold waits for them. At most `max_batch` rows run together, except that a request with more
choices than that runs alone. Imports torch, like `gateway.inference.local_model`.
"""

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from gateway.inference.choices import Choices
from gateway.inference.decode_batch import DecodeBatch
from gateway.inference.generation import Request
from gateway.inference.local_model import LocalModel
from gateway.inference.sampler import TokenPicker


@dataclass
class _Running:
    request: Request
    choices: Choices
    picker: TokenPicker
    adapter: str | None
    deadline: float | None


@dataclass
class _Row:
    running: _Running
    index: int  # the choice it generates
    token: int  # the choice's latest token, which the next step feeds


class BatchScheduler:
    def __init__(self, model: LocalModel, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.model = model
        self.max_batch = max_batch
        self._incoming: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._waiting: deque[Request] = deque()
        self._rows: list[_Row] = []
        self._batch: DecodeBatch | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="chat-batch", daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> None:
        self._incoming.put(request)

    def stop(self) -> None:
        """End every request (their readers are told nothing more) and the thread; blocks."""
        self._incoming.put(None)
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping:
            self._take(block=not self._rows and not self._waiting)
            if self._stopping:
                break
            self._admit()
            if self._rows:
                self._step()
        for request in {id(row.running.request): row.running.request for row in self._rows}.values():
            request.end(None)
        for request in self._waiting:
            request.end(None)

    def _take(self, block: bool) -> None:
        try:
            item = self._incoming.get(block=block)
            while True:
                if item is None:
                    self._stopping = True
                else:
                    self._waiting.append(item)
                item = self._incoming.get_nowait()
        except queue.Empty:
            return

    def _admit(self) -> None:
        """Start waiting requests in order while their rows fit (a request waits for those ahead)."""
        while self._waiting:
            request = self._waiting[0]
            if request.cancel.is_set():
                self._waiting.popleft().end(None)
                continue
            if self._rows and len(self._rows) + request.sampling.n > self.max_batch:
                return
            try:
                adapter = None
                if request.adapter is not None:
                    in_use = {row.running.adapter for row in self._rows} - {None}
                    adapter = self.model.activate_adapter(request.adapter, in_use)
                    if adapter is None:
                        return
                self._waiting.popleft()
                self._start(request, adapter)
            except Exception as error:  # this request's adapter or prompt: the others go on
                if self._waiting and self._waiting[0] is request:
                    self._waiting.popleft()
                request.end(error)

    def _start(self, request: Request, adapter: str | None) -> None:
        sampling = request.sampling
        deadline = None if sampling.time_limit is None else time.monotonic() + sampling.time_limit
        running = _Running(
            request,
            Choices(sampling, self.model.eos_ids, self.model.decode, request.emit),
            TokenPicker(sampling, self.model.top_k, self.model.device),
            adapter,
            deadline,
        )
        logits, cache = self.model.prefill(request.prompt, adapter)
        batch = DecodeBatch.prefilled(cache, len(request.prompt), sampling.n)
        picked = running.picker.pick(logits.expand(sampling.n, -1))
        if self._batch is None:
            self._batch = batch
        else:
            self._batch.extend(batch)
        start = len(self._rows)
        self._rows.extend(_Row(running, index, token) for index, token in enumerate(picked))
        self._settle(range(start, len(self._rows)))

    def _step(self) -> None:
        assert self._batch is not None
        try:
            inputs = self._batch.step_inputs([row.token for row in self._rows])
            logits = self.model.forward([row.running.adapter for row in self._rows], **inputs)
        except Exception as error:  # the model failed this step: every running request ends with it
            for running in {id(row.running): row.running for row in self._rows}.values():
                running.request.end(error)
            self._rows, self._batch = [], None
            return
        groups: dict[int, list[int]] = {}
        for number, row in enumerate(self._rows):
            groups.setdefault(id(row.running), []).append(number)
        for numbers in groups.values():
            picker = self._rows[numbers[0]].running.picker
            for number, token in zip(numbers, picker.pick(logits[numbers]), strict=True):
                self._rows[number].token = token
        self._settle(range(len(self._rows)))

    def _settle(self, numbers: range) -> None:
        """Hand rows' new tokens to their choices, then let the rows that are over leave."""
        for number in numbers:
            row = self._rows[number]
            row.running.choices.push(row.index, row.token)
        now = time.monotonic()
        ended: set[int] = set()
        for row in self._rows:
            running = row.running
            if id(running) in ended:
                continue
            if running.request.cancel.is_set():
                pass
            elif running.deadline is not None and now > running.deadline:
                running.choices.finish_open()
            elif not running.choices.done:
                continue
            ended.add(id(running))
            running.request.end(None)
        keep = [
            number
            for number, row in enumerate(self._rows)
            if id(row.running) not in ended and not row.running.choices.finished(row.index)
        ]
        if len(keep) == len(self._rows):
            return
        assert self._batch is not None
        self._rows = [self._rows[number] for number in keep]
        if keep:
            self._batch.keep(keep)
        else:
            self._batch = None
