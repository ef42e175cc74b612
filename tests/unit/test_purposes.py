import pytest

from gateway.errors import InvalidRequest
from gateway.files.purposes import (
    BATCH_DEFAULT_EXPIRY_SECONDS,
    MAX_EXPIRY_SECONDS,
    MIN_EXPIRY_SECONDS,
    expiry_seconds,
    require_jsonl_name,
    require_uploadable,
)


def expiry(anchor: str | None = "created_at", seconds: str | None = None, purpose: str = "fine-tune"):
    fields = {"expires_after[anchor]": anchor, "expires_after[seconds]": seconds}
    return expiry_seconds(purpose, {key: value for key, value in fields.items() if value is not None})


def test_no_expiry_fields():
    assert expiry_seconds("fine-tune", {}) is None
    assert expiry_seconds("batch", {}) == BATCH_DEFAULT_EXPIRY_SECONDS == 30 * 24 * 3600


@pytest.mark.parametrize("seconds", [str(MIN_EXPIRY_SECONDS), "86400", str(MAX_EXPIRY_SECONDS)])
def test_expiry_in_range(seconds):
    assert expiry(seconds=seconds) == int(seconds)
    assert expiry(seconds=seconds, purpose="batch") == int(seconds)


@pytest.mark.parametrize("seconds", [None, "", "3599", str(MAX_EXPIRY_SECONDS + 1), "-5", "1.5", "abc"])
def test_expiry_seconds_out_of_range_or_not_an_integer(seconds):
    with pytest.raises(InvalidRequest) as caught:
        expiry(seconds=seconds)
    assert caught.value.param == "expires_after[seconds]"


@pytest.mark.parametrize("anchor", [None, "", "last_active_at"])
def test_expiry_anchor_must_be_created_at(anchor):
    with pytest.raises(InvalidRequest) as caught:
        expiry(anchor=anchor, seconds="3600")
    assert caught.value.param == "expires_after[anchor]"


@pytest.mark.parametrize("purpose", ["assistants", "batch", "fine-tune", "vision", "user_data"])
def test_uploadable_purposes(purpose):
    assert require_uploadable(purpose) == purpose


@pytest.mark.parametrize("purpose", [None, ""])
def test_missing_purpose(purpose):
    with pytest.raises(InvalidRequest, match="Missing required parameter: 'purpose'") as caught:
        require_uploadable(purpose)
    assert caught.value.param == "purpose"


@pytest.mark.parametrize("purpose", ["fine-tune-results", "batch_output", "finetune"])
def test_purpose_not_uploadable(purpose):
    with pytest.raises(InvalidRequest) as caught:
        require_uploadable(purpose)
    assert (caught.value.param, caught.value.code) == ("purpose", "invalid_value")
    assert f"'{purpose}'" in caught.value.message


@pytest.mark.parametrize("name", ["train.jsonl", "TRAIN.JSONL", "a.b.Jsonl"])
def test_jsonl_names_accepted(name):
    require_jsonl_name(name)


@pytest.mark.parametrize("name", ["train.json", "train.jsonl.gz", "jsonl", "", "train.csv"])
def test_other_names_refused(name):
    with pytest.raises(InvalidRequest, match="Must be .jsonl") as caught:
        require_jsonl_name(name)
    assert caught.value.param == "file"
