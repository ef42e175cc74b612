"""A job trained by several processes: torchrun starts them (training/rank.py), and the job
runner drives them through rank 0 exactly as it drives a LocalTrainer in its own process, so
events, checkpoints, pause, cancel and resume are the same. Processes that die mid-run raise
TrainingProcessesLost: the job then resumes from its last state, as when its worker dies."""

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

from training.rank import AUTHKEY_VARIABLE, CLOSE
from training.trainer import LocalTrainer, StepMetrics, TrainingConfig, TrainingDataError

CONNECT_RETRY_SECONDS = 0.1
# How long the processes have to leave after `close`, and after SIGTERM, before they are killed.
EXIT_SECONDS = 30.0


class TrainingProcessesLost(Exception):
    pass


class ProcessGroupTrainer:
    """LocalTrainer's calls, made by `processes` ranks together. A failure to start, or an error a
    call raised on rank 0, is raised here as RuntimeError (TrainingDataError for unusable data)."""

    def __init__(
        self,
        config: TrainingConfig,
        training: list[dict],
        validation: list[dict] | None,
        processes: int,
        sharding: str,
    ):
        self._folder = Path(tempfile.mkdtemp(prefix="ftgate-ranks-"))
        address = str(self._folder / "runner")
        authkey = secrets.token_bytes(32)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += [f"--nproc-per-node={processes}", "-m", "training.rank", address, config.device, sharding]
        self._process = subprocess.Popen(command, env=os.environ | {AUTHKEY_VARIABLE: authkey.hex()})
        self._connection: Connection | None = None
        try:
            self._connection = self._connect(address, authkey)
            self._connection.send((config, training, validation))
            answer = self._receive()
        except TrainingProcessesLost as lost:
            self.close()
            raise RuntimeError(str(lost)) from None
        if answer[0] == "invalid":
            self.close()
            raise TrainingDataError(answer[1])
        if answer[0] == "error":
            self.close()
            raise RuntimeError(answer[1])
        _, self.total_steps, self.trained_tokens = answer
        self.completed_steps = 0

    def step(self) -> StepMetrics:
        return self._call("step")

    def load_state(self, path: Path) -> None:
        self._call("load_state", path)

    def save_state(self, path: Path) -> None:
        self._call("save_state", path)

    def save_adapter(self, path: Path) -> None:
        self._call("save_adapter", path)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):  # the processes are gone already
                self._connection.send((CLOSE, ()))
            self._connection.close()
            self._connection = None
        try:
            self._process.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            try:
                self._process.wait(EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _call(self, call: str, *argument: Any) -> Any:
        assert self._connection is not None, "the trainer is closed"
        try:
            self._connection.send((call, argument))
        except OSError:
            raise self._lost() from None
        answer = self._receive()
        if answer[0] == "error":
            raise RuntimeError(answer[1])
        _, result, self.completed_steps = answer
        return result

    def _receive(self) -> tuple:
        assert self._connection is not None
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            raise self._lost() from None

    def _connect(self, address: str, authkey: bytes) -> Connection:
        while self._process.poll() is None:
            try:
                return Client(address, "AF_UNIX", authkey=authkey)
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(CONNECT_RETRY_SECONDS)
        raise self._lost()

    def _lost(self) -> TrainingProcessesLost:
        try:
            code = self._process.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        return TrainingProcessesLost(f"the training processes stopped (torchrun's exit status: {code})")


Trainer = LocalTrainer | ProcessGroupTrainer


def open_trainer(
    config: TrainingConfig,
    training: list[dict],
    validation: list[dict] | None,
    processes: int,
    sharding: str,
) -> Trainer:
    if processes == 1:
        return LocalTrainer(config, training, validation)
    return ProcessGroupTrainer(config, training, validation, processes, sharding)
