"""The keep-alive transport of the provider's reads, against the scripted upstream's HTTP server:
answers as httpx's own transport would, one connection for requests in turn, and httpx's
transport errors when the server drops a connection or holds its answer."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.providers.keepalive import KeepAliveTransport
from tests.support.fake_upstream import FakeUpstream

KEY = "sk-keepalive-test"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=KEY) as up:
        yield up


@pytest.fixture
async def clients(fake: FakeUpstream) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A client on the keep-alive transport and one on httpx's own, both of the fake upstream."""
    headers = {"authorization": f"Bearer {KEY}"}
    timeout = httpx.Timeout(0.5)
    transport = KeepAliveTransport()
    async with (
        httpx.AsyncClient(
            base_url=fake.base_url, headers=headers, timeout=timeout, transport=transport
        ) as lean,
        httpx.AsyncClient(base_url=fake.base_url, headers=headers, timeout=timeout) as standard,
    ):
        yield lean, standard
    fake.clear_faults()


async def test_answers_as_httpx_own_transport_does(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]):
    lean, standard = clients
    for path, params in [("/fine_tuning/jobs", {"limit": 2}), ("/fine_tuning/jobs/ftjob-none", {})]:
        mine, theirs = await lean.get(path, params=params), await standard.get(path, params=params)
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json())
        assert mine.headers["content-type"] == theirs.headers["content-type"]


async def test_requests_in_turn_share_one_connection(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]):
    lean, _ = clients
    for _ in range(5):
        assert (await lean.get("/fine_tuning/jobs")).status_code == 200
    transport = lean._transport
    assert isinstance(transport, KeepAliveTransport)
    assert [len(idle) for idle in transport._idle.values()] == [1]


async def test_a_dropped_connection_is_a_transport_error_and_the_next_request_works(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], fake: FakeUpstream
):
    lean, _ = clients
    assert (await lean.get("/fine_tuning/jobs")).status_code == 200
    fake.add_fault("GET", r"/fine_tuning/jobs$", "drop", times=1)
    with pytest.raises(httpx.TransportError):
        await lean.get("/fine_tuning/jobs")
    assert (await lean.get("/fine_tuning/jobs")).status_code == 200


async def test_an_answer_held_past_the_read_timeout_is_a_read_timeout(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], fake: FakeUpstream
):
    lean, _ = clients
    fake.add_fault("GET", r"/fine_tuning/jobs$", "timeout", seconds=2, times=1)
    with pytest.raises(httpx.ReadTimeout):
        await lean.get("/fine_tuning/jobs")
    assert (await lean.get("/fine_tuning/jobs")).status_code == 200


async def test_a_closed_server_is_a_connect_error():
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as lean:
        with pytest.raises(httpx.ConnectError):
            await lean.get("http://127.0.0.1:9/")
