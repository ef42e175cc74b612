"""The captured training file's validation report, kept up to date one example at a time.

Each example is validated alone, as an upload would be (same encoding and token limit), before
it is appended; only valid ones are. The file's report is then a sum over its examples: the
counts below, stored with the capture, give exactly the report that validating the whole file
would give, without reading it again."""

import json
from dataclasses import asdict, dataclass, fields

import anyio

from gateway.files.upload import UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT
from gateway.files.validator_pool import ValidatorPool
from gateway.validation import ValidationReport
from gateway.validation.validator import report_warnings


@dataclass(frozen=True)
class Tally:
    n_examples: int = 0
    total_tokens: int = 0
    billable_tokens: int = 0
    max_example_tokens: int = 0
    n_over_limit: int = 0
    assistant_tokens: int = 0
    n_without_system: int = 0
    n_without_user: int = 0

    @classmethod
    def of(cls, stored: dict[str, int] | None) -> "Tally":
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in (stored or {}).items() if key in names})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def plus(self, example: "Tally") -> "Tally":
        return Tally(
            n_examples=self.n_examples + example.n_examples,
            total_tokens=self.total_tokens + example.total_tokens,
            billable_tokens=self.billable_tokens + example.billable_tokens,
            max_example_tokens=max(self.max_example_tokens, example.max_example_tokens),
            n_over_limit=self.n_over_limit + example.n_over_limit,
            assistant_tokens=self.assistant_tokens + example.assistant_tokens,
            n_without_system=self.n_without_system + example.n_without_system,
            n_without_user=self.n_without_user + example.n_without_user,
        )

    def report(self) -> ValidationReport:
        warnings = report_warnings(
            n_invalid=0,
            n_listed=0,
            n_examples=self.n_examples,
            n_blank=0,
            n_without_system=self.n_without_system,
            n_without_user=self.n_without_user,
            n_over_limit=self.n_over_limit,
            token_limit=UPLOAD_TOKEN_LIMIT,
        )
        return ValidationReport(
            format="chat" if self.n_examples else None,
            n_lines=self.n_examples,
            n_examples=self.n_examples,
            n_invalid=0,
            issues=(),
            warnings=tuple(warnings),
            encoding=UPLOAD_ENCODING,
            token_limit=UPLOAD_TOKEN_LIMIT,
            total_tokens=self.total_tokens,
            billable_tokens=self.billable_tokens,
            max_example_tokens=self.max_example_tokens,
            n_over_limit=self.n_over_limit,
            assistant_tokens=self.assistant_tokens,
        )


async def measure(validators: ValidatorPool, line: bytes) -> Tally | ValidationReport:
    """The example's counts, or the report that refuses it."""
    async with validators.session(UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT) as validator:
        await anyio.to_thread.run_sync(validator.feed, line)
        report = await anyio.to_thread.run_sync(validator.finish)
    if not report.is_valid or report.format != "chat":
        return report
    return of_example(report, line)


def of_example(report: ValidationReport, line: bytes) -> Tally:
    """The counts of one valid chat example, from its report as a file of its own."""
    roles = {message.get("role") for message in json.loads(line)["messages"]}
    return Tally(
        n_examples=1,
        total_tokens=report.total_tokens,
        billable_tokens=report.billable_tokens,
        max_example_tokens=report.max_example_tokens,
        n_over_limit=report.n_over_limit,
        assistant_tokens=report.assistant_tokens,
        n_without_system="system" not in roles,
        n_without_user="user" not in roles,
    )
