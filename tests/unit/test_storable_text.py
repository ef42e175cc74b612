"""Text ftgate stores without having received it in a request (model output, grader messages)."""

import json

from gateway.text import first_refusal, storable


def test_nul_and_lone_surrogates_become_storable():
    value = {"out\x00": ["a\x00b", "\ud800x", 3, None], "fine": "héllo"}
    cleaned = storable(value)
    assert first_refusal(cleaned, stored=True) is None
    assert cleaned == {"out\ufffd": ["a\ufffdb", "\\ud800x", 3, None], "fine": "héllo"}
    assert json.loads(json.dumps(cleaned)) == cleaned
