"""A failed job's `error` keeps OpenAI's shape (gateway/fine_tuning/job_error.py)."""

from gateway.fine_tuning.job_error import JobError


def test_the_wire_shape_is_openais_error_object():
    error = JobError("invalid_training_file", "Bad line 3.", "training_file")
    assert error.as_wire() == {
        "code": "invalid_training_file",
        "message": "Bad line 3.",
        "param": "training_file",
    }
    assert JobError("training_failed", "Out of memory.").as_wire()["param"] is None


def test_an_upstreams_partial_error_is_filled_in():
    assert JobError.from_upstream(None).as_wire() == {
        "code": "upstream_error",
        "message": "The job failed at its upstream.",
        "param": None,
    }
    assert JobError.from_upstream({"code": "quota", "message": "Over quota.", "param": "model"}) == JobError(
        "quota", "Over quota.", "model"
    )
