"""/v1/uploads: create an upload, add its parts, complete it into a file, or cancel it."""

import time

from fastapi import APIRouter, Request

from gateway import ids
from gateway.admission import ProjectRoute, body_cap
from gateway.deps import CallerDep, RuntimeDep
from gateway.files.router import MULTIPART_OVERHEAD_BYTES
from gateway.files.upload import part_too_large, receive_part
from gateway.openapi import errors
from gateway.storage import aio as blob_calls
from gateway.uploads import service
from gateway.uploads.schemas import (
    PART_REQUEST_BODY,
    CompleteUploadParams,
    CreateUploadParams,
    Upload,
    UploadPart,
)

router = APIRouter(prefix="/v1/uploads", tags=["uploads"], route_class=ProjectRoute)


@router.post("")
async def create(params: CreateUploadParams, caller: CallerDep, runtime: RuntimeDep) -> Upload:
    async with runtime.transaction() as session:
        upload = await service.create(session, caller, params, runtime.settings.max_chunked_upload_bytes)
    return Upload.of(upload, "pending")


@router.post("/{upload_id}/parts", responses=errors(404), openapi_extra={"requestBody": PART_REQUEST_BODY})
@body_cap(lambda settings: settings.max_upload_part_bytes + MULTIPART_OVERHEAD_BYTES)
async def add_part(upload_id: str, request: Request, caller: CallerDep, runtime: RuntimeDep) -> UploadPart:
    """Streams the part into its own blob with no transaction open, then records it."""
    max_bytes = runtime.settings.max_upload_part_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise part_too_large(max_bytes)
    async with runtime.transaction() as session:
        upload = await service.pending(session, caller, upload_id)
    part_id = ids.new_upload_part_id()
    with runtime.upload_slots.hold(caller.project_id):
        size = await receive_part(
            content_type=request.headers.get("content-type"),
            body=request.stream(),
            blobs=runtime.blobs,
            blob_key=part_id,
            max_bytes=max_bytes,
        )
    try:
        async with runtime.transaction() as session:
            upload = await service.pending(session, caller, upload_id)
            part = await service.add_part(
                session, upload, part_id, size, runtime.settings.max_chunked_upload_bytes
            )
    except BaseException:
        await blob_calls.delete(runtime.blobs, part_id)
        raise
    return UploadPart.of(part)


@router.post("/{upload_id}/complete", responses=errors(404))
async def complete(
    upload_id: str, params: CompleteUploadParams, caller: CallerDep, runtime: RuntimeDep
) -> Upload:
    """Checks the parts, concatenates them into the file's blob (in a worker thread, validated as
    an upload) with no transaction open, then records the file and ends the upload."""
    async with runtime.transaction() as session:
        upload, parts = await service.parts_to_complete(session, caller, upload_id, params.part_ids)
    file_id = ids.new_file_id()
    with runtime.upload_slots.hold(caller.project_id):
        received, md5 = await service.concatenate(runtime, upload, parts, file_id)
    try:
        service.check_md5(params.md5, md5)
        async with runtime.transaction() as session:
            upload, stored = await service.complete(
                session, caller, runtime.blobs, upload_id, file_id, received
            )
    except BaseException:
        await blob_calls.delete(runtime.blobs, file_id)
        raise
    return Upload.of(upload, "completed", stored)


@router.post("/{upload_id}/cancel", responses=errors(404))
async def cancel(upload_id: str, caller: CallerDep, runtime: RuntimeDep) -> Upload:
    async with runtime.transaction() as session:
        upload = await service.cancel(session, caller, runtime.blobs, upload_id)
        status = service.status_of(upload, int(time.time()))
    return Upload.of(upload, status)
