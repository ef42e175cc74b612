"""Text that ftgate stores or sends on. JSON's `"\\ud800"` escape decodes to a lone surrogate,
which no UTF-8 encoder takes: not a database driver, a tokenizer, nor the HTTP client that
forwards a request. PostgreSQL also refuses NUL in text, so stored text holds none either.

Request bodies refuse such text while they are validated, as a 400 naming the field: a pydantic
error with `at` in its context names the place inside the field (`[0].wandb.project`), which
`gateway.error_handlers` appends to the field's own name.
"""

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

NUL_MESSAGE = "text must not contain NUL characters"
LONE_SURROGATE_MESSAGE = "text must not contain a lone surrogate (an unpaired \\ud800-\\udfff escape)"


def has_lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refusal(text: str, *, stored: bool) -> str | None:
    if stored and "\x00" in text:
        return NUL_MESSAGE
    if has_lone_surrogate(text):
        return LONE_SURROGATE_MESSAGE
    return None


def first_refusal(value: Any, *, stored: bool) -> tuple[str, str] | None:
    """Where (`messages[0].content`, relative to `value`) and why the first string of a JSON
    value is refused; an object key that is refused is reported at its object. Iterative: a
    body may nest deeper than Python's recursion limit."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        at, item = pending.pop()
        if isinstance(item, str):
            if (refusal := _refusal(item, stored=stored)) is not None:
                return at, refusal
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and (refusal := _refusal(key, stored=stored)) is not None:
                    return at, refusal
            pending.extend(
                (f"{at}.{key}" if at else str(key), child) for key, child in reversed(item.items())
            )
        elif isinstance(item, list | tuple):
            pending.extend((f"{at}[{index}]", child) for index, child in reversed(list(enumerate(item))))
    return None


def refuse_unsendable(value: Any) -> Any:
    """A pydantic before-validator: no string anywhere in `value` holds a lone surrogate."""
    return _refuse(value, stored=False)


def refuse_unstorable(value: Any) -> Any:
    """A pydantic before-validator: no string anywhere in `value` holds NUL or a lone surrogate."""
    return _refuse(value, stored=True)


def _refuse(value: Any, *, stored: bool) -> Any:
    found = first_refusal(value, stored=stored)
    if found is not None:
        at, message = found
        raise PydanticCustomError("invalid_text", message, {"at": at})
    return value


# Checked before the string's own constraints (pattern, length), which would otherwise refuse a
# lone surrogate in words of their own.
StoredText = Annotated[str, BeforeValidator(refuse_unstorable)]


def encodable(text: str) -> str:
    """`text` with any lone surrogate written as its escape, for messages that quote input."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if has_lone_surrogate(text) else text


def storable(value: Any) -> Any:
    """`value` with NUL written as U+FFFD and lone surrogates as their escapes, for text ftgate
    stores but did not receive as a request (a model's output, a grader's error message)."""
    if isinstance(value, str):
        return encodable(value.replace("\x00", "\ufffd"))
    if isinstance(value, dict):
        return {storable(key): storable(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [storable(child) for child in value]
    return value
