"""The request body of POST /v1/chat/completions: OpenAI's fields and ranges.

Shapes only: whether the serving model supports a feature (logprobs, JSON mode, images) is the
service's call. Unknown keys are refused, as OpenAI does ("Unrecognized request argument"). No
string anywhere in the body may hold a lone surrogate: the body goes to the local tokenizer or, as
it came, to an upstream, and neither takes one.
"""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gateway.text import StoredText, refuse_unsendable

Float = Annotated[float, Field(allow_inf_nan=False)]
Penalty = Annotated[Float, Field(ge=-2, le=2)]
FUNCTION_NAME = r"^[a-zA-Z0-9_-]{1,64}$"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(Params):
    type: Literal["text"]
    text: str


class RefusalPart(Params):
    type: Literal["refusal"]
    refusal: str


class MediaPart(BaseModel):
    """Image, audio and file parts: accepted as shapes, refused by local models."""

    model_config = ConfigDict(extra="allow")
    type: Literal["image_url", "input_audio", "file"]


ContentPart = Annotated[TextPart | RefusalPart | MediaPart, Field(discriminator="type")]


class FunctionCall(Params):
    name: str
    arguments: str


class ToolCall(Params):
    id: str
    type: Literal["function"]
    function: FunctionCall


def _missing() -> PydanticCustomError:
    return PydanticCustomError("missing", "Field required")


class Message(Params):
    """One message of any role; fields are checked against the role in field order, so a
    missing one is reported under its own name (`messages[2].tool_call_id`)."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    tool_calls: Annotated[list[ToolCall], Field(min_length=1)] | None = None
    content: str | Annotated[list[ContentPart], Field(min_length=1)] | None = Field(
        default=None, validate_default=True
    )
    tool_call_id: str | None = Field(default=None, validate_default=True)
    name: str | None = None
    refusal: str | None = None
    audio: dict[str, Any] | None = None
    function_call: dict[str, Any] | None = None

    @field_validator("content")
    @classmethod
    def _content_present(cls, value: Any, info: ValidationInfo) -> Any:
        role = info.data.get("role")
        if value is None and role is not None and (role != "assistant" or not info.data.get("tool_calls")):
            raise _missing()
        return value

    @field_validator("tool_call_id")
    @classmethod
    def _tool_call_id_present(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("role") == "tool":
            raise _missing()
        return value


class FunctionDefinition(Params):
    name: Annotated[str, Field(pattern=FUNCTION_NAME)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class FunctionTool(Params):
    type: Literal["function"]
    function: FunctionDefinition


class StreamOptions(Params):
    include_usage: StrictBool | None = None
    include_obfuscation: StrictBool | None = None


class ResponseFormat(Params):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


ToolChoice = Literal["none", "auto", "required"] | dict[str, Any]
MetadataKey = Annotated[str, Field(max_length=64)]
MetadataValue = Annotated[str, Field(max_length=512)]


class ChatCompletionParams(Params):
    # Looked up in the database, where a NUL is refused too.
    model: Annotated[StoredText, Field(min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    temperature: Annotated[Float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[Float, Field(ge=0, le=1)] | None = None
    n: Annotated[StrictInt, Field(ge=1, le=8)] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)] | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    user: str | None = None
    safety_identifier: Annotated[str, Field(max_length=64)] | None = None
    prompt_cache_key: str | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)] | None = None
    store: StrictBool | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    logit_bias: dict[str, StrictInt] | None = None
    response_format: ResponseFormat | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast"] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _sendable_text(cls, data: Any) -> Any:
        """Every string and key of the body, checked before any field: what an upstream receives
        is the body as it came, media parts' extra keys and tool parameters included."""
        return refuse_unsendable(data) if isinstance(data, dict) else data

    @field_validator("stream_options")
    @classmethod
    def _only_when_streaming(cls, value: StreamOptions | None, info: ValidationInfo) -> StreamOptions | None:
        if value is not None and not info.data.get("stream"):
            raise PydanticCustomError(
                "stream_options", "'stream_options' is only allowed when 'stream' is true"
            )
        return value

    @field_validator("tool_choice")
    @classmethod
    def _only_with_tools(cls, value: ToolChoice | None, info: ValidationInfo) -> ToolChoice | None:
        if value is not None and value != "none" and not info.data.get("tools"):
            raise PydanticCustomError(
                "tool_choice", "'tool_choice' is only allowed when 'tools' are specified"
            )
        return value

    @property
    def max_new_tokens(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        stops = [self.stop] if isinstance(self.stop, str) else self.stop or []
        return tuple(stop for stop in stops if stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)
