"""/v1/files: upload, list, retrieve, delete, content, and ftgate's validation report."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from gateway import ids
from gateway.admission import ProjectRoute, body_cap
from gateway.budgets import ledger
from gateway.deps import CallerDep, RuntimeDep, SessionDep
from gateway.files import service
from gateway.files.schemas import FILE_CONTENT, UPLOAD_REQUEST_BODY, FileDeleted, FileObject
from gateway.files.upload import file_too_large, receive_upload
from gateway.fine_tuning import quotes
from gateway.fine_tuning.quotes import Quote
from gateway.openapi import errors
from gateway.pagination import ListPageWithIds
from gateway.storage import aio as blob_calls

router = APIRouter(prefix="/v1/files", tags=["files"], route_class=ProjectRoute)

MULTIPART_OVERHEAD_BYTES = 64 * 1024


@router.post("", responses=errors(503), openapi_extra={"requestBody": UPLOAD_REQUEST_BODY})
@body_cap(lambda settings: settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES)
async def create(request: Request, caller: CallerDep, runtime: RuntimeDep) -> FileObject:
    """Streams first, then records the file in a short transaction of its own: no database
    transaction stays open while a large body arrives."""
    max_bytes = runtime.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise file_too_large(max_bytes)
    async with runtime.transaction() as session:
        await ledger.admit_file(session, caller, 0)
    file_id = ids.new_file_id()
    with runtime.upload_slots.hold(caller.project_id):
        upload = await receive_upload(
            content_type=request.headers.get("content-type"),
            body=request.stream(),
            blobs=runtime.blobs,
            blob_key=file_id,
            max_bytes=max_bytes,
            validators=runtime.validators,
        )
    try:
        async with runtime.transaction() as session:
            await ledger.admit_file(session, caller, upload.size)
            stored = service.add_uploaded(session, caller, file_id=file_id, upload=upload)
    except BaseException:
        await blob_calls.delete(runtime.blobs, file_id)
        raise
    return FileObject.of(stored)


@router.get("")
async def list_files(
    session: SessionDep,
    caller: CallerDep,
    purpose: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
    order: Literal["asc", "desc"] = "desc",
) -> ListPageWithIds[FileObject]:
    rows, has_more = await service.list_files(
        session, caller, purpose=purpose, after=after, limit=limit, order=order
    )
    return ListPageWithIds.of([FileObject.of(row) for row in rows], has_more)


@router.get("/{file_id}", responses=errors(404))
async def retrieve(file_id: str, session: SessionDep, caller: CallerDep) -> FileObject:
    return FileObject.of(await service.retrieve(session, caller, file_id))


@router.delete("/{file_id}", responses=errors(404))
async def delete(file_id: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> FileDeleted:
    await service.delete(session, caller, runtime.blobs, file_id)
    return FileDeleted(id=file_id, deleted=True)


@router.get(
    "/{file_id}/content", response_class=StreamingResponse, responses={200: FILE_CONTENT} | errors(404)
)
async def retrieve_content(
    file_id: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> StreamingResponse:
    content = await service.open_content(session, caller, runtime.blobs, file_id)
    return StreamingResponse(_chunks(content), media_type="application/octet-stream")


@router.get("/{file_id}/validation", responses=errors(404))
async def retrieve_validation(file_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """ftgate's own addition: the report made while a fine-tune file streamed in."""
    return await service.validation_report(session, caller, file_id)


@router.get("/{file_id}/quote", responses=errors(404, 503))
async def retrieve_quote(
    file_id: str,
    model: str,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    n_epochs: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> Quote:
    """ftgate's own addition: trained tokens and cost of tuning `model` on this file. Where the
    model's upstream gives its own estimate before a job exists (Together, `upstream_estimates`),
    the file's copy there is uploaded once (a job reuses it) and the quote shows the upstream's
    figure and the larger one a job would reserve."""
    return await quotes.quote_file(session, caller, runtime, file_id, model, n_epochs)


def _chunks(content: Any, size: int = 1024 * 1024) -> Any:
    with content:
        while chunk := content.read(size):
            yield chunk
