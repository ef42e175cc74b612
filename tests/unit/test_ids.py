import re

import pytest

from gateway import ids

BASE62 = "[A-Za-z0-9]"


@pytest.mark.parametrize(
    ("make", "prefix", "length"),
    [
        (ids.new_file_id, "file-", 22),
        (ids.new_job_id, "ftjob-", 24),
        (ids.new_event_id, "ftevent-", 24),
        (ids.new_checkpoint_id, "ftckpt_", 24),
    ],
)
def test_prefix_length_and_alphabet(make, prefix, length):
    values = {make() for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert re.fullmatch(f"{re.escape(prefix)}{BASE62}{{{length}}}", value), value


def test_random_base62_uses_the_whole_alphabet():
    seen = set(ids.random_base62(5000))
    assert seen <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert len(seen) == 62


def test_fine_tuned_model_name_with_suffix():
    name = ids.fine_tuned_model_name("gpt-4o-mini-2024-07-18", "acme", "marv")
    assert re.fullmatch(f"ft:gpt-4o-mini-2024-07-18:acme:marv:{BASE62}{{8}}", name), name


@pytest.mark.parametrize("suffix", [None, ""])
def test_fine_tuned_model_name_without_suffix(suffix):
    name = ids.fine_tuned_model_name("gpt-4o-mini-2024-07-18", "acme", suffix)
    assert re.fullmatch(f"ft:gpt-4o-mini-2024-07-18:acme::{BASE62}{{8}}", name), name
