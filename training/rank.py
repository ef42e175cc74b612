"""One rank of a job trained by several processes, started by torchrun as
`python -m training.rank ADDRESS DEVICE SHARDING` (workers/local/launch.py). Rank 0 listens at
ADDRESS for the job runner, which sends the run (config, examples), then one trainer call at a
time; rank 0 passes each call on to the others, every rank makes it, and rank 0 answers. Only
rank 0 writes states and adapters; every rank loads the same state."""

import dataclasses
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.connection import Connection, Listener

import torch

from training import distributed
from training.trainer import LocalTrainer, TrainingDataError

AUTHKEY_VARIABLE = "FTGATE_RANK_AUTHKEY"
# The calls a rank makes on its trainer.
CALLS = {"step", "load_state", "save_state", "save_adapter"}
CLOSE = "close"


def rank_device(name: str, local_rank: int) -> torch.device:
    """The job's device setting, for this rank: on CUDA, a GPU per rank."""
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def runner_connection(ranks: distributed.Ranks, address: str) -> AbstractContextManager[Connection | None]:
    if not ranks.leads:
        return nullcontext()
    with Listener(address, "AF_UNIX", authkey=bytes.fromhex(os.environ[AUTHKEY_VARIABLE])) as listener:
        return listener.accept()


def serve(ranks: distributed.Ranks, runner: Connection | None, device: torch.device) -> None:
    config, training, validation = ranks.broadcast(runner.recv() if runner else None)
    config = dataclasses.replace(config, device=str(device))
    try:
        trainer, failure = LocalTrainer(config, training, validation, ranks), None
    except TrainingDataError as bad:
        trainer, failure = None, ("invalid", str(bad))
    except Exception as error:  # reported to the job runner, which fails the job with it
        trainer, failure = None, ("error", str(error))
    failures = [failed for failed in ranks.gather(failure) if failed is not None]
    if runner:
        runner.send(failures[0] if failures else ("ready", trainer.total_steps, trainer.trained_tokens))
    if failures:
        return
    while True:
        call, argument = ranks.broadcast(runner.recv() if runner else None)
        if call == CLOSE:
            break
        assert call in CALLS, call
        try:
            result = getattr(trainer, call)(*argument)
        except Exception as error:
            if runner:
                runner.send(("error", str(error)))
            raise
        if runner:
            runner.send(("done", result, trainer.completed_steps))
    trainer.close()


def main(address: str, device_name: str, sharding: str) -> None:
    """`sharding` is BaseModelSpec.sharding: under "fsdp" each rank holds a share of the model,
    under "ddp" all of it."""
    device = rank_device(device_name, distributed.local_rank())
    ranks = distributed.join(device, sharded=sharding == "fsdp")
    try:
        with runner_connection(ranks, address) as runner:
            serve(ranks, runner, device)
    finally:
        distributed.leave()


if __name__ == "__main__":
    main(*sys.argv[1:])
