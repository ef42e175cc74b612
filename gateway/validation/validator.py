"""Streaming validation of a fine-tuning JSONL file: bytes in, a `ValidationReport` out.

`TrainingFileValidator.feed` takes chunks as they arrive (any boundaries; calls must not overlap,
but may come from any thread) and keeps only counters, the first issues and a bounded batch of
texts waiting to be counted, never the file. `finish` returns the report and never raises on
bad data. Each non-blank line is one example; a line gets at most one issue (the first found).
The file's format is that of its first valid example; a later line of another format is a
`mixed_format` issue.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from gateway.validation.formats import ExampleReader, detect_format
from gateway.validation.lines import LineSplitter
from gateway.validation.messages import ROLES
from gateway.validation.problems import InvalidExample
from gateway.validation.report import ExampleFormat, ValidationIssue, ValidationReport
from gateway.validation.tokens import ExampleTokenTally, TokenCounter

DEFAULT_TOKEN_LIMIT = 65_536
DEFAULT_MAX_LINE_BYTES = 32 << 20
MIN_EXAMPLES = 10


class TrainingFileValidator:
    def __init__(
        self,
        encoding: str = "o200k_base",
        *,
        token_limit: int = DEFAULT_TOKEN_LIMIT,
        max_issues: int = 20,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        counter = TokenCounter(encoding)
        self._encoding = encoding
        self._token_limit = token_limit
        self._max_issues = max_issues
        self._max_line_bytes = max_line_bytes
        self._lines = LineSplitter(max_line_bytes)
        self._decode = msgspec.json.Decoder().decode
        self._reader = ExampleReader(counter.message_framing(ROLES))
        self._tokens = ExampleTokenTally(counter, token_limit)
        self._format: ExampleFormat | None = None
        self._issues: list[ValidationIssue] = []
        self._n_lines = 0
        self._n_examples = 0
        self._n_invalid = 0
        self._n_blank = 0
        self._n_without_system = 0
        self._n_without_user = 0
        self._report: ValidationReport | None = None

    def feed(self, chunk: bytes) -> None:
        if self._report is not None:
            raise RuntimeError("feed() called after finish()")
        for number, line in self._lines.feed(chunk):
            self._take_line(number, line)

    def finish(self) -> ValidationReport:
        """Validate what is left and return the report; later calls return the same report."""
        if self._report is None:
            for number, line in self._lines.finish():
                self._take_line(number, line)
            self._tokens.flush()
            self._report = self._build_report()
        return self._report

    def _take_line(self, number: int, line: bytes | None) -> None:
        if line is None:
            self._n_lines += 1
            self._reject(
                number,
                "line_too_long",
                f"Line {number} is longer than {self._max_line_bytes} bytes.",
            )
            return
        if not line or line.isspace():
            self._n_blank += 1
            return
        self._n_lines += 1
        try:
            example = self._decode(line)
        except (ValueError, RecursionError) as error:
            self._reject(number, *_decode_problem(number, line, error))
            return
        if type(example) is not dict:
            head = line.lstrip()[:3].decode("utf-8", "replace")
            self._reject(
                number,
                "not_an_object",
                f'Line {number} is not a dictionary (HINT: line starts with: "{head}...").',
            )
            return
        example_format = detect_format(example)
        if self._format is not None and example_format != self._format:
            self._reject(
                number,
                "mixed_format",
                f"Example {number} is in the {example_format} format, "
                f"but earlier examples are in the {self._format} format.",
            )
            return
        try:
            parsed = self._reader.read(example, example_format, number)
        except InvalidExample as problem:
            self._reject(number, problem.code, problem.message)
            return
        self._format = example_format
        self._n_examples += 1
        self._n_without_system += parsed.lacks_system_message
        self._n_without_user += parsed.lacks_user_message
        self._tokens.add(parsed.framing_tokens, parsed.context_texts, parsed.trained_texts)

    def _reject(self, number: int, code: str, message: str) -> None:
        self._n_invalid += 1
        if len(self._issues) < self._max_issues:
            self._issues.append(ValidationIssue(number, code, message))

    def _build_report(self) -> ValidationReport:
        tokens = self._tokens
        return ValidationReport(
            format=self._format if self._n_examples else None,
            n_lines=self._n_lines,
            n_examples=self._n_examples,
            n_invalid=self._n_invalid,
            issues=tuple(self._issues),
            warnings=tuple(self._warnings()),
            encoding=self._encoding,
            token_limit=self._token_limit,
            total_tokens=tokens.total_tokens,
            billable_tokens=tokens.billable_tokens,
            max_example_tokens=tokens.max_example_tokens,
            n_over_limit=tokens.n_over_limit,
            assistant_tokens=tokens.assistant_tokens,
        )

    def _warnings(self) -> Iterable[str]:
        return report_warnings(
            n_invalid=self._n_invalid,
            n_listed=len(self._issues),
            n_examples=self._n_examples,
            n_blank=self._n_blank,
            n_without_system=self._n_without_system,
            n_without_user=self._n_without_user,
            n_over_limit=self._tokens.n_over_limit,
            token_limit=self._token_limit,
        )


def report_warnings(
    *,
    n_invalid: int,
    n_listed: int,
    n_examples: int,
    n_blank: int,
    n_without_system: int,
    n_without_user: int,
    n_over_limit: int,
    token_limit: int,
) -> Iterable[str]:
    """A report's warnings from its counts (also for reports kept up to date line by line)."""
    if n_invalid > n_listed:
        yield f"Only the first {n_listed} of {n_invalid} issues are listed."
    if n_examples < MIN_EXAMPLES:
        yield f"Training file has {n_examples} example(s), but must have at least {MIN_EXAMPLES} examples"
    if n_blank:
        yield f"{n_blank} blank line(s) were skipped."
    if n_without_system:
        yield f"{n_without_system} example(s) are missing a system message."
    if n_without_user:
        yield f"{n_without_user} example(s) are missing a user message."
    if n_over_limit:
        yield (
            f"{n_over_limit} example(s) may be over the {token_limit:,} "
            "token limit, they will be truncated during fine-tuning"
        )


def validate_chunks(
    chunks: Iterable[bytes], encoding: str = "o200k_base", **options: int
) -> ValidationReport:
    """Validate a whole stream of chunks, e.g. a stored blob read back in pieces."""
    validator = TrainingFileValidator(encoding, **options)
    for chunk in chunks:
        validator.feed(chunk)
    return validator.finish()


def _decode_problem(number: int, line: bytes, error: Exception) -> tuple[str, str]:
    if isinstance(error, RecursionError):
        return "nesting_too_deep", f"Line {number} is nested too deeply to be parsed."
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad_utf8:
        return "invalid_utf8", f"Line {number} is not valid UTF-8 (byte {bad_utf8.start})."
    return "invalid_json", (
        f"Example {number} cannot be parsed. Error: line contains invalid json: {error} (line {number})"
    )
