"""The import: every job of an upstream organisation, with its events, checkpoints, result
files and file records, into a project as read-only history under the upstream's ids.

Idempotent: each job is written with all that goes with it in one transaction, and a job already
here in a final status is complete, so running again adds only what is new (new jobs, and the
new events, checkpoints and results of jobs that were still at work). HTTP reads happen outside
the transactions.
"""

import logging
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.files.reports import report_for_upload
from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning import result_files
from gateway.fine_tuning.status import TERMINAL
from gateway.models import Job
from gateway.openai_import import matching, records, repository
from gateway.openai_import.client import JobDetails, OpenAIHistory
from gateway.openai_import.report import ImportReport, MissingFile
from gateway.runtime import Runtime
from gateway.storage.base import BlobStore

log = logging.getLogger(__name__)

IMPORTED = "openai.imported"


async def import_history(
    runtime: Runtime,
    history: OpenAIHistory,
    project_id: str,
    project_name: str,
    *,
    provider: str,
    training_files: Path | None = None,
    actor: str = audit.SYSTEM_ACTOR,
) -> ImportReport:
    """Import, then attach what `training_files` holds of the files still without content.
    `provider` names the upstream that answers chats to the imported models (when configured)."""
    report = ImportReport(source=history.base_url, project=project_name)
    jobs = (await history.jobs())[::-1]  # oldest first: the newest then lists first here
    async with runtime.sessions() as session:
        known = await repository.jobs_by_id(session, [job["id"] for job in jobs])
        ours = await repository.sent_from_here(session, [job["id"] for job in jobs])
    for job in jobs:
        stored = known.get(job["id"])
        if job["id"] in ours:
            report.skipped.append(f"{job['id']}: it is the upstream copy of ftgate's job {ours[job['id']]}")
        elif stored is not None and stored.project_id != project_id:
            report.skipped.append(f"{job['id']}: already imported into another project")
        elif stored is not None and stored.status in TERMINAL:
            report.jobs_unchanged += 1
        else:
            await _import_job(runtime, history, project_id, provider, job, report)
    if training_files is not None:
        await attach_training_files(runtime, project_id, training_files, report)
    async with runtime.transaction() as session:
        report.missing = [
            MissingFile(stored.id, stored.filename, stored.bytes)
            for stored in await repository.files_without_content(session, project_id)
        ]
        audit.record(
            session,
            actor,
            IMPORTED,
            project_id=project_id,
            object_id=None,
            details={
                "source": report.source,
                "jobs_added": len(report.jobs_added),
                "jobs_updated": len(report.jobs_updated),
                "events_added": report.events_added,
                "files_added": len(report.files_added),
                "missing_files": len(report.missing),
            },
        )
    return report


async def _import_job(
    runtime: Runtime,
    history: OpenAIHistory,
    project_id: str,
    provider: str,
    job: dict[str, Any],
    report: ImportReport,
) -> None:
    file_ids = [f for f in (job.get("training_file"), job.get("validation_file")) if f]
    file_ids += [f for f in job.get("result_files") or [] if f not in file_ids]
    async with runtime.sessions() as session:
        present = await repository.files_by_id(session, file_ids)
    for file_id, stored in present.items():
        if stored.project_id != project_id:
            report.skipped.append(f"{file_id}: a file of another project has this id")
    new_ids = [file_id for file_id in file_ids if file_id not in present]
    details = await history.details(job, new_ids)
    results: dict[str, bytes] = {}
    for file_id in job.get("result_files") or []:
        if details.files.get(file_id) is not None and (content := await history.content(file_id)) is not None:
            results[file_id] = content
    async with runtime.transaction() as session:
        added = await _write_job(session, runtime, project_id, provider, job, history.base_url)
        (report.jobs_added if added else report.jobs_updated).append(job["id"])
        await _write_files(session, runtime.blobs, project_id, details, results, history.base_url, report)
        await _write_events(session, job["id"], details, report)
        await _write_checkpoints(session, job["id"], details, report)


async def _write_job(
    session: AsyncSession, runtime: Runtime, project_id: str, provider: str, item: dict[str, Any], source: str
) -> bool:
    """The job's row as the upstream has it now; True when it is new."""
    values = records.job_values(item, runtime.catalog)
    job = await jobs_repository.get_any(session, item["id"])
    if job is None:
        session.add(
            Job(
                id=item["id"],
                project_id=project_id,
                key_id=None,
                provider=provider,
                imported_from=source,
                fine_tuned_model_deleted_at=None,
                **values,
            )
        )
        await session.flush()
        return True
    for name, value in values.items():
        setattr(job, name, value)
    return False


async def _write_files(
    session: AsyncSession,
    blobs: BlobStore,
    project_id: str,
    details: JobDetails,
    results: dict[str, bytes],
    source: str,
    report: ImportReport,
) -> None:
    for file_id, item in details.files.items():
        if item is None:
            report.skipped.append(f"{file_id}: the upstream no longer has this file")
        elif file_id in results:
            await result_files.store(
                session,
                blobs,
                project_id,
                str(item.get("filename") or file_id),
                results[file_id],
                file_id=file_id,
                created_at=item.get("created_at"),
                imported_from=source,
            )
            report.result_files_added.append(file_id)
            report.files_added.append(file_id)
        elif item.get("purpose") == result_files.RESULTS_PURPOSE:
            report.skipped.append(f"{file_id}: the upstream did not give this result file's content")
        else:
            session.add(records.file_row(project_id, item, source))
            report.files_added.append(file_id)


async def _write_events(
    session: AsyncSession, job_id: str, details: JobDetails, report: ImportReport
) -> None:
    known = await jobs_repository.event_keys(session, job_id)
    for item in details.events:
        if item["id"] not in known:
            session.add(records.event_row(job_id, item))
            known.add(item["id"])
            report.events_added += 1


async def _write_checkpoints(
    session: AsyncSession, job_id: str, details: JobDetails, report: ImportReport
) -> None:
    known = await repository.checkpoint_ids(session, job_id)
    steps = {checkpoint.step_number for checkpoint in await jobs_repository.checkpoints(session, job_id)}
    for item in details.checkpoints:
        if item["id"] not in known and int(item["step_number"]) not in steps:
            session.add(records.checkpoint_row(job_id, item))
            steps.add(int(item["step_number"]))
            report.checkpoints_added += 1


async def attach_training_files(
    runtime: Runtime, project_id: str, folder: Path, report: ImportReport
) -> None:
    """Store, as the content of the project's imported files that have none, the local files
    that match them (see `matching`)."""
    async with runtime.sessions() as session:
        wanted = [
            matching.Wanted(stored.id, stored.filename, stored.bytes)
            for stored in await repository.files_without_content(session, project_id)
        ]
    if not wanted:
        return
    local = await anyio.to_thread.run_sync(matching.scan, folder)
    for file_id, found in matching.match(wanted, local).items():
        await anyio.to_thread.run_sync(_copy_to_blob, runtime.blobs, file_id, found.path)
        validation = await report_for_upload(runtime.blobs, file_id, runtime.validators)
        async with runtime.transaction() as session:
            if await repository.attach_content(session, file_id, found.sha256, validation.to_dict()):
                report.attached[file_id] = str(found.path)


def _copy_to_blob(blobs: BlobStore, key: str, path: Path) -> None:
    writer = blobs.writer(key)
    try:
        with path.open("rb") as content:
            while chunk := content.read(1024 * 1024):
                writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
