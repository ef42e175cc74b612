"""Which of the operator's local JSONL files is the content of which imported file.

OpenAI gives no content hash and refuses to serve `fine-tune` files, so a file is recognised by
what its record does say: a local file named after the file's id (`file-abc.jsonl`), else one
with the same name and size, else the only local content of that size when only one missing file
has it. Local files with the same content (sha256) count as one, and a content already matched
to a file by name is no one else's by size; a size must always agree.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".jsonl", ".json", ".txt")


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Wanted:
    """An imported file whose content ftgate does not have."""

    id: str
    filename: str
    bytes: int


def scan(folder: Path) -> list[LocalFile]:
    """The candidate files under `folder` (sub-folders too), in name order."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    paths = sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix in SUFFIXES)
    return [LocalFile(path, path.stat().st_size, _sha256(path)) for path in paths]


def match(wanted: list[Wanted], local: list[LocalFile]) -> dict[str, LocalFile]:
    """Each wanted file's local copy, by id; the wanted files left out have none here."""
    found: dict[str, LocalFile] = {}
    by_name: dict[tuple[str, int], LocalFile] = {}
    for candidate in local:
        by_name.setdefault((candidate.path.name, candidate.size), candidate)
    for file in wanted:
        named = _named_after(file, local)
        if named is not None:
            found[file.id] = named
        elif (same := by_name.get((file.filename, file.bytes))) is not None:
            found[file.id] = same
    _match_by_size([file for file in wanted if file.id not in found], local, found)
    return found


def _named_after(file: Wanted, local: list[LocalFile]) -> LocalFile | None:
    return next((c for c in local if file.id in (c.path.name, c.path.stem) and c.size == file.bytes), None)


def _match_by_size(left: list[Wanted], local: list[LocalFile], found: dict[str, LocalFile]) -> None:
    taken = {candidate.sha256 for candidate in found.values()}
    contents: dict[int, dict[str, LocalFile]] = defaultdict(dict)
    for candidate in local:
        if candidate.sha256 not in taken:  # another file's content is not a lone candidate
            contents[candidate.size].setdefault(candidate.sha256, candidate)
    wanting: dict[int, list[Wanted]] = defaultdict(list)
    for file in left:
        wanting[file.bytes].append(file)
    for size, files in wanting.items():
        if len(files) == 1 and len(contents.get(size, {})) == 1:
            found[files[0].id] = next(iter(contents[size].values()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as content:
        while chunk := content.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
