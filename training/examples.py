"""Turn OpenAI fine-tuning examples (chat and preference) into token ids and labels, rendered with the
model's own chat template."""

import json
from dataclasses import dataclass
from functools import cached_property

IGNORED = -100


class TrainingDataError(ValueError):
    """An example the trainer cannot use; str() is a user-facing message naming the example (1-based line)."""


@dataclass(frozen=True)
class TokenizedSequence:
    input_ids: list[int]
    labels: list[int]  # the token itself where it is trained, IGNORED elsewhere (not shifted)
    cut_tokens: int = 0  # tokens past the maximum length, left out

    @cached_property
    def trained_tokens(self) -> int:
        """Trained tokens that a previous token predicts (the first token of a sequence never is)."""
        return sum(label != IGNORED for label in self.labels[1:])


@dataclass(frozen=True)
class PreferencePair:
    chosen: TokenizedSequence
    rejected: TokenizedSequence


def template_messages(messages: list[dict]) -> list[dict]:
    """OpenAI messages in the shape chat templates expect: content parts joined into one text, tool-call
    arguments decoded from their JSON string, `weight` removed. Render prompts for serving the same way."""
    return [_template_message(message) for message in messages]


def _template_message(message: dict) -> dict:
    rendered = {key: value for key, value in message.items() if key != "weight"}
    content = rendered.get("content")
    if isinstance(content, list):
        rendered["content"] = "".join(part.get("text", "") for part in content if part.get("type") == "text")
    if rendered.get("tool_calls"):
        rendered["tool_calls"] = [_decoded_tool_call(call) for call in rendered["tool_calls"]]
    return rendered


def _decoded_tool_call(call: dict) -> dict:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        return call
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return call
    return {**call, "function": {**function, "arguments": decoded}}


class ChatEncoder:
    """Tokenizes examples once; labels come from character offsets of the trained turns, located by
    rendering each conversation prefix (which the template must reproduce unchanged)."""

    def __init__(self, tokenizer, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def supervised(self, example: dict, where: str) -> TokenizedSequence:
        """Train every assistant message whose `weight` is 1 (absent means 1)."""
        messages = _messages(example, where)
        trained = [
            index
            for index, message in enumerate(messages)
            if message.get("role") == "assistant" and message.get("weight", 1) != 0
        ]
        if not trained:
            raise TrainingDataError(
                f"{where}: no assistant message with weight 1, so nothing can be trained."
            )
        return self._encode(template_messages(messages), example.get("tools"), trained, where)

    def preference(self, example: dict, where: str) -> PreferencePair:
        """Prompt = input.messages; chosen/rejected = the preferred/non-preferred output turns."""
        prompt = example.get("input")
        if not isinstance(prompt, dict):
            raise TrainingDataError(f"{where}: missing the `input` object of a preference example.")
        messages = template_messages(_messages(prompt, where))
        tools = prompt.get("tools")
        chosen, rejected = (
            self._output(messages, tools, example.get(key), f"{where} ({key})")
            for key in ("preferred_output", "non_preferred_output")
        )
        return PreferencePair(chosen, rejected)

    def _output(
        self, prompt: list[dict], tools: list | None, output: object, where: str
    ) -> TokenizedSequence:
        if not isinstance(output, list) or not any(
            isinstance(message, dict) and message.get("role") == "assistant" for message in output
        ):
            raise TrainingDataError(f"{where}: needs a list holding an assistant message.")
        messages = [*prompt, *template_messages(output)]
        trained = [
            index for index in range(len(prompt), len(messages)) if messages[index].get("role") == "assistant"
        ]
        return self._encode(messages, tools, trained, where)

    def _encode(
        self, messages: list[dict], tools: list | None, trained: list[int], where: str
    ) -> TokenizedSequence:
        full = self._render(messages, tools)
        spans = []
        for index in trained:
            prefix = self._render(messages[:index], tools, generation_prompt=True) if index else ""
            turn = self._render(messages[: index + 1], tools)
            if not (turn.startswith(prefix) and full.startswith(turn)):
                raise TrainingDataError(
                    f"{where}: the model's chat template does not render message {index + 1} as a "
                    "continuation of the messages before it, so its tokens cannot be located."
                )
            spans.append((len(prefix), len(turn.rstrip())))  # the content and its end-of-turn token
        encoded = self.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        input_ids = encoded["input_ids"][: self.max_length]
        labels = [
            token if any(start <= offset < end for start, end in spans) else IGNORED
            for token, (offset, _) in zip(input_ids, encoded["offset_mapping"], strict=False)
        ]
        sequence = TokenizedSequence(input_ids, labels, len(encoded["input_ids"]) - len(input_ids))
        if sequence.trained_tokens == 0:
            raise TrainingDataError(
                f"{where}: no trained token fits within the first {self.max_length} tokens of the example."
            )
        return sequence

    def _render(self, messages: list[dict], tools: list | None, *, generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tools=tools or None, tokenize=False, add_generation_prompt=generation_prompt
        )


def _messages(holder: dict, where: str) -> list[dict]:
    messages = holder.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise TrainingDataError(f"{where}: `messages` must be a non-empty list of message objects.")
    return messages
