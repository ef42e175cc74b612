"""A stand-in `openai` upstream for servers whose tests need OpenAI's models offered but never run.

A model is offered only when its upstream is configured; this one is, at an address that refuses
every connection (a port bound, never listened on, for the whole test session). A job on OpenAI's
models waits in `queued` as it would while a real upstream is down: each try fails at once and the
next is `upstream_poll_waiting_seconds` (30 s here) or more away, with no event.
"""

import json
import socket

from gateway.providers.config import UpstreamSpec

_REFUSING = socket.socket()
_REFUSING.bind(("127.0.0.1", 0))
PARKED_BASE_URL = f"http://127.0.0.1:{_REFUSING.getsockname()[1]}/v1"
PARKED_UPSTREAM = UpstreamSpec(name="openai", base_url=PARKED_BASE_URL, api_key="sk-parked")
PARKED_WAIT_SECONDS = 30.0

# Settings that park OpenAI's models, and the same as FTGATE_* variables for other processes.
PARKED: dict[str, object] = {
    "upstreams": [PARKED_UPSTREAM],
    "upstream_poll_waiting_seconds": PARKED_WAIT_SECONDS,
}
PARKED_ENV = {
    "FTGATE_UPSTREAMS": json.dumps([PARKED_UPSTREAM.model_dump(mode="json") | {"api_key": "sk-parked"}]),
    "FTGATE_UPSTREAM_POLL_WAITING_SECONDS": str(PARKED_WAIT_SECONDS),
}
