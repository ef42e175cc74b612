"""A verified key is trusted only under the key generation it was looked up in, and for its TTL."""

from pathlib import Path

from gateway.budgets.limits import NO_LIMITS
from gateway.projects import Caller
from gateway.verified_keys import FileGeneration, VerifiedKeys

CALLER = Caller(
    project_id="proj_1",
    organization_id="org-1",
    org_slug="acme",
    key_id="key_1",
    project_limits=NO_LIMITS,
    key_limits=NO_LIMITS,
)


class Lookups:
    def __init__(self, answer: Caller | None = CALLER) -> None:
        self.count = 0
        self.answer = answer

    async def __call__(self) -> Caller | None:
        self.count += 1
        return self.answer


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_looked_up_once_while_nothing_changes(tmp_path: Path):
    keys = VerifiedKeys(FileGeneration(tmp_path / "keys.generation"), ttl_seconds=60)
    look_up = Lookups()
    assert [await keys.caller("sk-a", look_up) for _ in range(3)] == [CALLER] * 3
    assert look_up.count == 1


async def test_a_change_made_by_another_process_is_seen_on_the_next_request(tmp_path: Path):
    path = tmp_path / "keys.generation"
    here, elsewhere = VerifiedKeys(FileGeneration(path), 60), VerifiedKeys(FileGeneration(path), 60)
    look_up = Lookups()
    await here.caller("sk-a", look_up)
    await elsewhere.changed()
    look_up.answer = None  # revoked
    assert await here.caller("sk-a", look_up) is None
    assert look_up.count == 2


async def test_entries_expire_and_failed_lookups_are_never_kept(tmp_path: Path):
    clock = Clock()
    keys = VerifiedKeys(FileGeneration(tmp_path / "keys.generation"), ttl_seconds=60, clock=clock)
    refused = Lookups(answer=None)
    assert await keys.caller("sk-bad", refused) is None
    assert await keys.caller("sk-bad", refused) is None
    assert refused.count == 2
    look_up = Lookups()
    await keys.caller("sk-a", look_up)
    clock.now = 61
    await keys.caller("sk-a", look_up)
    assert look_up.count == 2


async def test_without_a_shared_generation_every_request_looks_its_key_up():
    for keys in (VerifiedKeys(None, 60), VerifiedKeys(FileGeneration(Path("/unused")), 0)):
        look_up = Lookups()
        await keys.caller("sk-a", look_up)
        await keys.caller("sk-a", look_up)
        assert look_up.count == 2


async def test_an_unreadable_generation_trusts_no_entry(tmp_path: Path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    keys = VerifiedKeys(FileGeneration(folder), 60)
    look_up = Lookups()
    await keys.caller("sk-a", look_up)
    await keys.caller("sk-a", look_up)
    assert look_up.count == 2
