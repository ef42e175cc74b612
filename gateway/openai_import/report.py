"""What an import did, and what it could not do: said plainly to the operator."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MissingFile:
    id: str
    filename: str
    bytes: int


@dataclass
class ImportReport:
    source: str
    project: str
    jobs_added: list[str] = field(default_factory=list)
    jobs_updated: list[str] = field(default_factory=list)
    jobs_unchanged: int = 0
    events_added: int = 0
    checkpoints_added: int = 0
    files_added: list[str] = field(default_factory=list)
    result_files_added: list[str] = field(default_factory=list)
    # "<id>: <why>" for each job or file left out.
    skipped: list[str] = field(default_factory=list)
    attached: dict[str, str] = field(default_factory=dict)
    missing: list[MissingFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        lines = [
            f"imported {self.source} into project {self.project}:",
            f"  jobs: {len(self.jobs_added)} new, {len(self.jobs_updated)} updated, "
            f"{self.jobs_unchanged} already complete",
            f"  events: {self.events_added} new; checkpoints: {self.checkpoints_added} new",
            f"  files: {len(self.files_added)} new records, "
            f"{len(self.result_files_added)} result files copied",
        ]
        lines += [f"  skipped {reason}" for reason in self.skipped]
        lines += [f"  attached {file_id} <- {path}" for file_id, path in self.attached.items()]
        if self.missing:
            lines.append(
                f"  {len(self.missing)} training/validation files have no content yet (OpenAI does not "
                "allow downloading fine-tune files); put copies in a folder and run again with "
                "--training-files DIR:"
            )
            lines += [f"    MISSING {item.id}  {item.filename}  {item.bytes} bytes" for item in self.missing]
        else:
            lines.append("  every training/validation file has its content")
        return lines
