import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gateway.error_handlers import INVALID_JSON_MESSAGE, from_validation_error, param_of
from gateway.errors import InvalidRequest
from gateway.fine_tuning.params import JobCreateParams

HP = ("body", "method", "supervised", "hyperparameters")


@pytest.mark.parametrize(
    ("loc", "param"),
    [
        (("body", "model"), "model"),
        ((*HP, "n_epochs", "literal['auto']"), "method.supervised.hyperparameters.n_epochs"),
        ((*HP, "n_epochs", "constrained-int"), "method.supervised.hyperparameters.n_epochs"),
        (
            ("body", "hyperparameters", "learning_rate_multiplier", "constrained-float"),
            "hyperparameters.learning_rate_multiplier",
        ),
        (("body", "seed", "int"), "seed"),
        (("body", "integrations", 0, "wandb", "project"), "integrations[0].wandb.project"),
        (("body", "integrations", 1, "wandb", "tags", 3), "integrations[1].wandb.tags[3]"),
        (("body", "metadata", "k", "[key]"), "metadata.k"),
        (("body", 2), "[2]"),
        (("body",), None),
    ],
)
def test_param_of(loc, param):
    assert param_of(loc) == param


def request_error(body) -> RequestValidationError:
    """The error FastAPI raises for this JSON body: pydantic's errors with locs under "body"."""
    with pytest.raises(ValidationError) as caught:
        JobCreateParams.model_validate(body)
    errors = [{**error, "loc": ("body", *error["loc"])} for error in caught.value.errors()]
    return RequestValidationError(errors, body=body)


def test_missing_field_is_named():
    error = from_validation_error(request_error({"model": "gpt-4o-mini"}))
    assert isinstance(error, InvalidRequest)
    assert error.body()["error"] == {
        "message": "Missing required parameter: 'training_file'.",
        "type": "invalid_request_error",
        "param": "training_file",
        "code": "missing_required_parameter",
    }


def test_first_missing_field_wins():
    assert from_validation_error(request_error({})).param == "model"


def test_json_invalid_has_its_own_message():
    errors = [
        {
            "type": "json_invalid",
            "loc": ("body", 1),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": "x"},
        }
    ]
    error = from_validation_error(RequestValidationError(errors, body=b"{bad"))
    assert (error.message, error.param, error.status_code) == (INVALID_JSON_MESSAGE, None, 400)


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"n_epochs": 0}, "Input should be greater than or equal to 1"),
        ({"n_epochs": "x"}, "Input should be a valid integer"),
        ({"n_epochs": 51}, "Input should be less than or equal to 50"),
    ],
)
def test_union_error_reports_the_number_branch_not_the_auto_literal(hyperparameters, message):
    body = {
        "model": "m",
        "training_file": "f",
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
    }
    error = from_validation_error(request_error(body))
    assert error.param == "method.supervised.hyperparameters.n_epochs"
    assert error.code == "invalid_value"
    assert error.message == f"Invalid value for 'method.supervised.hyperparameters.n_epochs': {message}."


def test_plain_literal_error_is_kept():
    error = from_validation_error(
        request_error({"model": "m", "training_file": "f", "method": {"type": "x"}})
    )
    assert error.param == "method.type"
    assert "'supervised', 'dpo' or 'reinforcement'" in error.message


def test_body_that_is_not_an_object():
    error = from_validation_error(request_error([1]))
    assert error.param is None
    assert error.message.startswith("Invalid request body: Input should be a valid dictionary")


def test_empty_body_does_not_name_param_none():
    errors = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    error = from_validation_error(RequestValidationError(errors, body=None))
    assert error.param is None
    assert "'None'" not in error.message


def chat_request_error(body) -> RequestValidationError:
    from gateway.chat.params import ChatCompletionParams

    with pytest.raises(ValidationError) as caught:
        ChatCompletionParams.model_validate(body)
    errors = [{**error, "loc": ("body", *error["loc"])} for error in caught.value.errors()]
    return RequestValidationError(errors, body=body)


def test_unknown_top_level_arguments_are_unrecognized_like_openai_says():
    body = {"model": "m", "messages": [], "top_k": 1}
    error = from_validation_error(chat_request_error(body))
    assert error.body()["error"] == {
        "message": "Unrecognized request argument supplied: top_k",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    error = from_validation_error(chat_request_error({**body, "min_p": 0.1}))
    assert error.message == "Unrecognized request arguments supplied: top_k, min_p"


def test_a_missing_role_field_is_named_under_its_message():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]}
    error = from_validation_error(chat_request_error(body))
    assert (error.param, error.code) == ("messages[1].tool_call_id", "missing_required_parameter")
    assert error.message == "Missing required parameter: 'messages[1].tool_call_id'."
