"""Streaming validation of fine-tuning JSONL files against OpenAI's rules, with exact token counts.

    validator = TrainingFileValidator("o200k_base", token_limit=65_536, max_issues=20)
    validator.feed(chunk)          # any chunk boundaries
    report = validator.finish()    # ValidationReport; never raises on bad data

`ValidationReport` fields:
    format              "chat" | "preference" | "prompt_completion", None when no example is valid
    n_lines             non-blank lines
    n_examples          valid examples
    n_invalid           lines with an issue (n_examples + n_invalid == n_lines)
    issues              the first `max_issues` ValidationIssue(line, code, message), line from 1
    warnings            short sentences: fewer than 10 examples, skipped blank lines, examples
                        missing a system or user message, examples over the token limit,
                        issues left out of the list
    encoding            the tiktoken encoding counted with
    token_limit         tokens per example the model trains on; longer examples are truncated
    total_tokens        Σ tokens over valid examples (formula in `gateway.validation.tokens`)
    billable_tokens     Σ min(tokens, token_limit): one epoch's billed tokens
    max_example_tokens  the largest example
    n_over_limit        examples longer than token_limit
    assistant_tokens    tokens of trained assistant turns (weight 1 or absent): their content,
                        tool-call names and arguments; of a preference example, its preferred
                        output; of a prompt/completion example, its completion
    is_valid            property: no issue and at least one valid example

Issue codes. Line level: line_too_long, invalid_utf8, invalid_json (also NaN, lone surrogates,
numbers out of range), nesting_too_deep, not_an_object, mixed_format. Example level:
missing_messages, missing_key, extra_key, invalid_type, missing_assistant_message,
invalid_preference_output, invalid_tools, tools_and_functions, special_token. Message level:
invalid_message, missing_role, unrecognized_role, unrecognized_key, missing_content,
invalid_content, invalid_weight, invalid_tool_call (and missing_key / invalid_type for name,
tool_call_id and refusal).
"""

from gateway.validation.report import ValidationIssue, ValidationReport
from gateway.validation.tokens import encoding_for_model
from gateway.validation.validator import MIN_EXAMPLES, TrainingFileValidator, validate_chunks

__all__ = [
    "MIN_EXAMPLES",
    "TrainingFileValidator",
    "ValidationIssue",
    "ValidationReport",
    "encoding_for_model",
    "validate_chunks",
]
