# The python grader's child process: `python -I -c <this file> MEMORY_BYTES REQUIRE_NETNS CPU_SECONDS`.
# It reads {"source", "sample", "item"} as JSON on stdin, isolates itself before any user code
# runs, and writes one JSON result to the stdout it was given (user prints go to /dev/null).
import ctypes
import json
import math
import os
import resource
import sys
import traceback

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
# SECBIT_NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP | NO_SETUID_FIXUP_LOCKED | KEEP_CAPS_LOCKED
LOCKED_SECUREBITS = 0x2F


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def fail(result_fd, kind, details):
    os.write(result_fd, json.dumps({"ok": False, "kind": kind, "details": details[-2000:]}).encode())
    os._exit(0)


def isolate(result_fd, memory_bytes, require_netns, cpu_seconds):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    isolated = libc.unshare(CLONE_NEWNET) == 0 or libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
    if not isolated and require_netns:
        fail(
            result_fd,
            "isolation",
            "cannot create a network namespace: " + os.strerror(ctypes.get_errno()),
        )
    if os.geteuid() == 0:
        # Root keeps its uid but loses every capability for good (no setns back to the host's
        # network, no mounts, no raising limits); exec cannot give them back.
        libc.prctl(PR_SET_SECUREBITS, LOCKED_SECUREBITS, 0, 0, 0)
        for capability in range(64):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                break
        header, data = CapHeader(0x20080522, 0), (CapData * 2)()
        if libc.capset(ctypes.byref(header), data) != 0:
            fail(result_fd, "isolation", "cannot drop capabilities: " + os.strerror(ctypes.get_errno()))
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Inherited by anything it forks: a process that left the group still stops spinning.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))


def main():
    memory_bytes, require_netns, cpu_seconds = int(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
    payload = json.loads(sys.stdin.buffer.read())
    result_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    isolate(result_fd, memory_bytes, require_netns, cpu_seconds)
    try:
        namespace = {"__name__": "grader"}
        exec(compile(payload["source"], "grader.py", "exec"), namespace)
        reward = namespace["grade"](payload["sample"], payload["item"])
        if isinstance(reward, bool) or not isinstance(reward, (int, float)):
            fail(result_fd, "runtime", f"grade() returned {type(reward).__name__}, not a number")
        reward = float(reward)
        if not math.isfinite(reward):
            fail(result_fd, "runtime", f"grade() returned {reward!r}, not a finite number")
    except BaseException as error:  # the user's code: report whatever it raised
        lines = traceback.format_exception_only(type(error), error)
        fail(result_fd, "runtime", "".join(lines).strip())
    os.write(result_fd, json.dumps({"ok": True, "reward": reward}).encode())
    os._exit(0)


main()
