"""The python grader: `def grade(sample, item) -> float`, run in a child process of its own.

The child (`sandbox_child.py`, started as `python -I`) gets an empty environment and a fresh
temporary directory, enters a new network namespace (no interface but a downed loopback), drops
every capability when it runs as root, and limits its address space (RLIMIT_AS) before the
grader's code runs. The parent kills the child's whole process group when the wall-clock limit
passes. Results come back as flags, never as an exception or a hung caller.
"""

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.errors import ErrorFlags
from graders.models import MAX_PYTHON_SOURCE_BYTES

CHILD_SOURCE = (Path(__file__).parent / "sandbox_child.py").read_text()
MAX_RESULT_BYTES = 64 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 120.0
    memory_bytes: int = 2 * 1024**3
    require_network_isolation: bool = True
    concurrency: int = 2


@dataclass(frozen=True)
class SandboxOutcome:
    reward: float
    errors: ErrorFlags


class PythonSandbox:
    """Runs python graders within `limits`, at most `limits.concurrency` at a time per loop."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._slots:
            self._slots[loop] = asyncio.Semaphore(self.limits.concurrency)
        return self._slots[loop]

    async def run(self, source: str, sample: dict[str, Any], item: dict[str, Any]) -> SandboxOutcome:
        if len(source.encode("utf-8", "surrogatepass")) > MAX_PYTHON_SOURCE_BYTES:
            return server_error("source_too_large", f"source is larger than {MAX_PYTHON_SOURCE_BYTES} bytes")
        try:
            payload = json.dumps({"source": source, "sample": sample, "item": item}).encode()
        except (TypeError, ValueError) as error:
            return SandboxOutcome(
                0.0,
                ErrorFlags(
                    sample_parse_error=True, other_error=True, python_grader_runtime_error_details=str(error)
                ),
            )
        async with self._slot():
            return await self._run(payload)

    async def _run(self, payload: bytes) -> SandboxOutcome:
        workdir = tempfile.mkdtemp(prefix="ftgate-grader-")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-c",
                CHILD_SOURCE,
                str(self.limits.memory_bytes),
                "1" if self.limits.require_network_isolation else "0",
                str(math.ceil(self.limits.wall_seconds) + 1),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                cwd=workdir,
                env={
                    "PATH": "/usr/bin:/bin",
                    "HOME": workdir,
                    "LANG": "C.UTF-8",
                    "OPENBLAS_NUM_THREADS": "1",
                    "OMP_NUM_THREADS": "1",
                },
                start_new_session=True,
            )
            try:
                output = await asyncio.wait_for(self._exchange(process, payload), self.limits.wall_seconds)
            except TimeoutError:
                return SandboxOutcome(
                    0.0,
                    ErrorFlags(
                        unresponsive_reward_error=True,
                        python_grader_server_error=True,
                        python_grader_server_error_type="timeout",
                    ),
                )
            finally:
                await _kill(process)
            return _outcome(output, process.returncode)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    @staticmethod
    async def _exchange(process: asyncio.subprocess.Process, payload: bytes) -> bytes:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(payload)
            await process.stdin.drain()
            process.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        output = await process.stdout.read(MAX_RESULT_BYTES)
        await process.wait()
        return output


async def _kill(process: asyncio.subprocess.Process) -> None:
    """The child and everything it started in its session; then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


def server_error(kind: str, details: str | None = None) -> SandboxOutcome:
    return SandboxOutcome(
        0.0,
        ErrorFlags(
            python_grader_server_error=True,
            python_grader_server_error_type=kind,
            python_grader_runtime_error_details=details,
        ),
    )


def _outcome(output: bytes, returncode: int | None) -> SandboxOutcome:
    try:
        result = json.loads(output)
    except ValueError:
        died = (
            f"signal {-returncode}"
            if returncode is not None and returncode < 0
            else f"exit code {returncode}"
        )
        return server_error("crashed", f"the grader process ended without a result ({died})")
    if result.get("ok"):
        return SandboxOutcome(float(result["reward"]), ErrorFlags())
    if result.get("kind") == "isolation":
        return server_error("sandbox_unavailable", result.get("details"))
    return SandboxOutcome(
        0.0,
        ErrorFlags(
            python_grader_runtime_error=True, python_grader_runtime_error_details=result.get("details")
        ),
    )
