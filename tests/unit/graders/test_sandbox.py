"""The python grader's sandbox: each hostile grader ends as flags, and its process is gone."""

import asyncio
import os

import pytest

from graders import PythonSandbox, SandboxLimits
from graders.models import MAX_PYTHON_SOURCE_BYTES

SANDBOX = PythonSandbox(SandboxLimits(wall_seconds=2.0, memory_bytes=1024**3))


def run(source: str, sample: dict | None = None, item: dict | None = None):
    async def go():
        before = _children()
        outcome = await SANDBOX.run(source, sample or {"output_text": "Paris"}, item or {"answer": "Paris"})
        return outcome, _children() - before

    return asyncio.run(go())


def _children() -> set[int]:
    """Live (not zombie) processes whose parent is this one."""
    alive = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as status:
                    stat = status.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == os.getpid() and stat[0] != "Z":
                alive.add(int(pid))
    return alive


def test_a_grade_function_scores():
    source = (
        "def grade(sample, item):\n    print('noise')\n    return sample['output_text'] == item['answer']\n"
    )
    outcome, left = run(source.replace("== item['answer']", "== item['answer'] and 0.75"))
    assert outcome.reward == 0.75 and not outcome.errors.any() and not left


def test_network_is_unreachable():
    source = (
        "import socket\n"
        "def grade(sample, item):\n"
        "    socket.create_connection(('127.0.0.1', 5432), timeout=1)\n"
        "    return 1.0\n"
    )
    outcome, left = run(source)
    assert outcome.reward == 0.0 and outcome.errors.python_grader_runtime_error
    assert "Network is unreachable" in outcome.errors.python_grader_runtime_error_details
    assert not left


def test_the_host_network_cannot_be_rejoined():
    source = (
        "import os\ndef grade(sample, item):\n    os.open('/proc/1/ns/net', os.O_RDONLY)\n    return 1.0\n"
    )
    outcome, _ = run(source)
    assert outcome.errors.python_grader_runtime_error and outcome.reward == 0.0


def test_an_infinite_loop_is_killed():
    outcome, left = run("import os\ndef grade(sample, item):\n    os.fork()\n    while True:\n        pass\n")
    assert outcome.errors.unresponsive_reward_error and outcome.errors.python_grader_server_error
    assert outcome.errors.python_grader_server_error_type == "timeout"
    assert not left


def test_a_memory_bomb_hits_the_limit():
    outcome, left = run("def grade(sample, item):\n    hog = bytearray(3 * 1024 ** 3)\n    return 1.0\n")
    assert outcome.errors.python_grader_runtime_error
    assert outcome.errors.python_grader_runtime_error_details == "MemoryError"
    assert not left


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ("return 1 / 0", "ZeroDivisionError: division by zero"),
        ("return 'high'", "grade() returned str, not a number"),
        ("return float('nan')", "grade() returned nan, not a finite number"),
    ],
)
def test_exceptions_and_bad_returns_are_runtime_errors(body, details):
    outcome, left = run(f"def grade(sample, item):\n    {body}\n")
    assert outcome.reward == 0.0 and outcome.errors.python_grader_runtime_error
    assert outcome.errors.python_grader_runtime_error_details == details
    assert not left


def test_a_process_that_dies_is_a_server_error():
    outcome, _ = run("import os\ndef grade(sample, item):\n    os._exit(3)\n")
    assert (
        outcome.errors.python_grader_server_error
        and outcome.errors.python_grader_server_error_type == "crashed"
    )


def test_an_oversized_source_never_starts():
    source = "def grade(sample, item):\n    return 1.0\n" + "#" * MAX_PYTHON_SOURCE_BYTES
    outcome, left = run(source)
    assert outcome.errors.python_grader_server_error
    assert outcome.errors.python_grader_server_error_type == "source_too_large"
    assert not left


def test_the_environment_is_empty():
    source = "import os\ndef grade(sample, item):\n    return float(sum('FTGATE' in k for k in os.environ))\n"
    outcome, _ = run(source)
    assert outcome.reward == 0.0 and not outcome.errors.any()


def test_openais_grader_libraries_import_within_the_default_limits():
    """The libraries OpenAI documents for python graders (those installable here) load under the
    default 2 GB address-space limit."""
    libraries = ("numpy", "scipy", "sympy", "pandas", "sklearn", "rapidfuzz", "deepdiff", "sqlparse")
    source = (
        "import importlib\n"
        "def grade(sample, item):\n"
        f"    for name in {libraries!r}:\n"
        "        importlib.import_module(name)\n"
        "    import numpy, scipy.stats\n"
        "    return float(scipy.stats.norm.cdf(0.0) * 2 * numpy.ones(1)[0])\n"
    )
    outcome = asyncio.run(PythonSandbox(SandboxLimits(wall_seconds=60.0)).run(source, {}, {}))
    assert outcome.reward == 1.0, outcome.errors
