"""The grader definitions of OpenAI's spec (`Grader*` schemas), as pydantic models.

`parse_grader` is the one way in: it picks the model by `type`, reports a bad definition as
`GraderDefinitionError` with a path (`grader.graders.a.operation`), and checks what pydantic
alone cannot (a python grader's `grade` function, a multi grader's formula and names).
"""

import ast
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graders.errors import GraderDefinitionError
from graders.formula import Formula, FormulaError

MAX_PYTHON_SOURCE_BYTES = 256 * 1024
# The spec's `evaluation_metric` values.
Metric = Literal[
    "cosine",
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
]
REFUSED_METRICS = {
    "cosine": "needs an embedding model, and ftgate computes graders offline without one",
    "meteor": "needs the WordNet corpus (nltk's METEOR), which ftgate does not download",
}
SUPPORTED_METRICS = tuple(metric for metric in get_args(Metric) if metric not in REFUSED_METRICS)


class GraderModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str


class StringCheckGrader(GraderModel):
    type: Literal["string_check"] = "string_check"
    input: str
    reference: str
    operation: Literal["eq", "ne", "like", "ilike"]


class TextSimilarityGrader(GraderModel):
    type: Literal["text_similarity"] = "text_similarity"
    input: str
    reference: str
    evaluation_metric: Metric

    @field_validator("evaluation_metric")
    @classmethod
    def offline_metric(cls, metric: str) -> str:
        if metric in REFUSED_METRICS:
            raise ValueError(
                f"evaluation_metric {metric!r} is not supported by this server: "
                f"it {REFUSED_METRICS[metric]}. Use one of {', '.join(SUPPORTED_METRICS)}."
            )
        return metric


class PythonGrader(GraderModel):
    type: Literal["python"] = "python"
    source: str
    image_tag: str | None = None

    @field_validator("source")
    @classmethod
    def defines_grade(cls, source: str) -> str:
        if len(source.encode("utf-8", "surrogatepass")) > MAX_PYTHON_SOURCE_BYTES:
            raise ValueError(f"source is larger than {MAX_PYTHON_SOURCE_BYTES} bytes")
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            raise ValueError(f"source is not valid Python: {error}") from None
        if not any(isinstance(node, ast.FunctionDef) and node.name == "grade" for node in tree.body):
            raise ValueError("source must define a top-level function `def grade(sample, item) -> float`")
        return source


class InputText(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["input_text", "output_text"]
    text: str


Content = str | InputText | list[InputText]


class EvalMessage(BaseModel):
    """One message of a model grader's prompt (`EvalItem`); text content only."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system", "developer"]
    content: Content
    type: Literal["message"] | None = None

    def texts(self) -> list[str]:
        if isinstance(self.content, str):
            return [self.content]
        if isinstance(self.content, InputText):
            return [self.content.text]
        return [part.text for part in self.content]


class ModelSamplingParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seed: int | None = None
    top_p: float | None = None
    temperature: float | None = None
    max_completions_tokens: int | None = Field(default=None, ge=1)
    reasoning_effort: str | None = None

    @model_validator(mode="before")
    @classmethod
    def either_spelling(cls, data: Any) -> Any:
        """`max_completion_tokens` (the chat API's spelling) is read as the spec's."""
        if (
            isinstance(data, dict)
            and "max_completion_tokens" in data
            and "max_completions_tokens" not in data
        ):
            data = {**data, "max_completions_tokens": data["max_completion_tokens"]}
        return data


class ScoreModelGrader(GraderModel):
    type: Literal["score_model"] = "score_model"
    model: str
    input: list[EvalMessage]
    sampling_params: ModelSamplingParams | None = None
    range: list[float] | None = None

    @field_validator("range")
    @classmethod
    def low_high(cls, bounds: list[float] | None) -> list[float] | None:
        if bounds is not None and (len(bounds) != 2 or bounds[0] >= bounds[1]):
            raise ValueError("range must be two numbers [low, high] with low < high")
        return bounds

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.range[0], self.range[1]) if self.range else (0.0, 1.0)


class LabelModelGrader(GraderModel):
    type: Literal["label_model"] = "label_model"
    model: str
    input: list[EvalMessage]
    labels: list[str] = Field(min_length=1)
    passing_labels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def passing_subset(self) -> "LabelModelGrader":
        unknown = [label for label in self.passing_labels if label not in self.labels]
        if unknown:
            raise ValueError(f"passing_labels must be a subset of labels; not in labels: {unknown}")
        return self


class MultiGrader(GraderModel):
    """`graders` is always a dict here, keyed by the names the formula uses."""

    type: Literal["multi"] = "multi"
    graders: dict[str, "Grader"]
    calculate_output: str

    @property
    def formula(self) -> Formula:
        return Formula.parse(self.calculate_output, names=set(self.graders))


Grader = Annotated[
    StringCheckGrader
    | TextSimilarityGrader
    | PythonGrader
    | ScoreModelGrader
    | LabelModelGrader
    | MultiGrader,
    Field(discriminator="type"),
]
MODELS: dict[str, type[GraderModel]] = {
    "string_check": StringCheckGrader,
    "text_similarity": TextSimilarityGrader,
    "python": PythonGrader,
    "score_model": ScoreModelGrader,
    "label_model": LabelModelGrader,
    "multi": MultiGrader,
}
UNION_TAGS = {"str", "InputText"}
AnyGrader = (
    StringCheckGrader
    | TextSimilarityGrader
    | PythonGrader
    | ScoreModelGrader
    | LabelModelGrader
    | MultiGrader
)


def uses_judge(grader: AnyGrader) -> bool:
    """Whether grading with `grader` asks a model."""
    if isinstance(grader, ScoreModelGrader | LabelModelGrader):
        return True
    return isinstance(grader, MultiGrader) and any(uses_judge(sub) for sub in grader.graders.values())


def parse_grader(data: Any, param: str = "grader", *, types: tuple[str, ...] | None = None) -> AnyGrader:
    """A grader from its JSON form; `types` limits the top-level types accepted."""
    if not isinstance(data, dict):
        raise GraderDefinitionError("A grader must be a JSON object.", param)
    kind = data.get("type")
    allowed = types or tuple(MODELS)
    if kind not in allowed:
        raise GraderDefinitionError(
            f"Invalid grader type {kind!r}: expected one of {', '.join(allowed)}.", f"{param}.type"
        )
    if kind == "multi":
        return _parse_multi(data, param)
    try:
        return MODELS[kind].model_validate(data)  # type: ignore[return-value]
    except ValidationError as error:
        raise _definition_error(error, param) from None


def _parse_multi(data: dict[str, Any], param: str) -> MultiGrader:
    """Named sub-graders from a dict (the docs), a list or a single grader (the SDK's typing);
    a sub-grader from a list, or alone, is named by its `name`."""
    raw = data.get("graders")
    if isinstance(raw, dict) and "type" not in raw:
        named = {str(key): (value, f"{param}.graders.{key}") for key, value in raw.items()}
    elif isinstance(raw, dict):
        named = {str(raw.get("name")): (raw, f"{param}.graders")}
    elif isinstance(raw, list):
        named = {}
        for index, value in enumerate(raw):
            name = str(value.get("name")) if isinstance(value, dict) else str(index)
            if name in named:
                raise GraderDefinitionError(
                    f"Two graders are named {name!r}.", f"{param}.graders[{index}].name"
                )
            named[name] = (value, f"{param}.graders[{index}]")
    else:
        raise GraderDefinitionError(
            "graders must be a grader, a list of graders or a dict of named graders.", f"{param}.graders"
        )
    if not named:
        raise GraderDefinitionError("A multi grader needs at least one grader.", f"{param}.graders")
    graders = {name: parse_grader(value, where) for name, (value, where) in named.items()}
    try:
        grader = MultiGrader.model_validate({**data, "graders": {}})
    except ValidationError as error:
        raise _definition_error(error, param) from None
    grader.graders = graders
    try:
        grader.formula  # noqa: B018 - parsed here so that a bad formula is a definition error
    except FormulaError as error:
        raise GraderDefinitionError(str(error), f"{param}.calculate_output") from None
    return grader


def _definition_error(error: ValidationError, param: str) -> GraderDefinitionError:
    first = error.errors()[0]
    path = param
    for part in first["loc"]:
        if isinstance(part, str) and (part in UNION_TAGS or "[" in part):
            continue  # the union branch pydantic tried, not a field
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = f"Missing required parameter: '{path}'."
    return GraderDefinitionError(message, path)


MultiGrader.model_rebuild()
