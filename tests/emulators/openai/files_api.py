"""/v1/files and /v1/uploads: where training data lands before a job can use it.

A single multipart upload is refused above `config.max_file_bytes` (512 MB on the real
service), which lets a test force a client onto the multi-part Uploads API with tiny files.
"""

from __future__ import annotations

from .errors import bad_request, file_not_found, missing_parameter, upload_not_found
from .httpio import BytesResponse, JsonResponse, Request, Route, cursor_page, require
from .state import EmulatorState, FileRecord, UploadRecord

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_PART_BYTES = 64 * 1024**2
FILE = r"/v1/files/(?P<file_id>[^/]+)"
UPLOAD = r"/v1/uploads/(?P<upload_id>[^/]+)"


def create_file(state: EmulatorState, request: Request) -> JsonResponse:
    form = request.form()
    upload = form.files.get("file")
    if upload is None:
        raise missing_parameter("file")
    purpose = _purpose(form.fields.get("purpose"))
    limit = state.config.max_file_bytes
    if len(upload.content) > limit:
        raise bad_request(
            f"File is too large: {len(upload.content)} bytes. The maximum size for a single "
            f"upload is {limit} bytes; use the Uploads API for larger files.",
            param="file",
            code="file_too_large",
        )
    if purpose == "fine-tune" and not upload.filename.endswith(".jsonl"):
        raise bad_request("Invalid file format for Fine-Tuning API. Must be .jsonl", param="file")
    with state.lock:
        record = FileRecord(
            state.new_id("file-", 22), upload.filename, purpose, upload.content, state.now()
        )
        state.files[record.id] = record
        return JsonResponse(record.to_api())


def list_files(state: EmulatorState, request: Request) -> JsonResponse:
    limit = request.query_int("limit", 10_000, 1, 10_000)
    purpose = request.query_one("purpose")
    order = request.query_one("order") or "desc"
    with state.lock:
        records = [f for f in state.files.values() if purpose in (None, f.purpose)]
        items = [record.to_api() for record in records]
    if order == "desc":
        items.reverse()
    page = cursor_page(items, request.query_one("after"), limit)
    page["first_id"] = page["data"][0]["id"] if page["data"] else None
    page["last_id"] = page["data"][-1]["id"] if page["data"] else None
    return JsonResponse(page)


def get_file(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        return JsonResponse(_file(state, request.params["file_id"]).to_api())


def file_content(state: EmulatorState, request: Request) -> BytesResponse:
    with state.lock:
        return BytesResponse(_file(state, request.params["file_id"]).content)


def delete_file(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        record = _file(state, request.params["file_id"])
        del state.files[record.id]
        return JsonResponse({"id": record.id, "object": "file", "deleted": True})


def create_upload(state: EmulatorState, request: Request) -> JsonResponse:
    body = request.json()
    filename = require(body, "filename")
    purpose = _purpose(require(body, "purpose"))
    size = require(body, "bytes", int)
    mime_type = require(body, "mime_type")
    if not 0 <= size <= MAX_UPLOAD_BYTES:
        raise bad_request(
            f"Invalid 'bytes': an Upload can hold at most {MAX_UPLOAD_BYTES} bytes.", "bytes"
        )
    with state.lock:
        upload = UploadRecord(
            state.new_id("upload_"), filename, purpose, size, mime_type, state.now()
        )
        state.uploads[upload.id] = upload
        return JsonResponse(upload.to_api())


def add_part(state: EmulatorState, request: Request) -> JsonResponse:
    form = request.form()
    data = form.files.get("data")
    if data is None:
        raise missing_parameter("data")
    if len(data.content) > MAX_PART_BYTES:
        raise bad_request(f"A Part can hold at most {MAX_PART_BYTES} bytes.", "data")
    with state.lock:
        upload = _pending_upload(state, request.params["upload_id"])
        part_id = state.new_id("part_")
        upload.parts[part_id] = data.content
        return JsonResponse(
            {
                "id": part_id,
                "object": "upload.part",
                "created_at": state.now(),
                "upload_id": upload.id,
            }
        )


def complete_upload(state: EmulatorState, request: Request) -> JsonResponse:
    body = request.json()
    part_ids = require(body, "part_ids", list)
    with state.lock:
        upload = _pending_upload(state, request.params["upload_id"])
        unknown = [part for part in part_ids if part not in upload.parts]
        if unknown:
            raise bad_request(f"Invalid part ID: {unknown[0]}", param="part_ids")
        content = b"".join(upload.parts[part] for part in part_ids)
        if len(content) != upload.size:
            raise bad_request(
                f"The number of bytes uploaded ({len(content)}) does not match the number of "
                f"bytes specified in the upload ({upload.size}).",
                param="part_ids",
            )
        record = FileRecord(
            state.new_id("file-", 22), upload.filename, upload.purpose, content, state.now()
        )
        state.files[record.id] = record
        upload.file = record
        upload.status = "completed"
        return JsonResponse(upload.to_api())


def cancel_upload(state: EmulatorState, request: Request) -> JsonResponse:
    with state.lock:
        upload = _pending_upload(state, request.params["upload_id"])
        upload.status = "cancelled"
        return JsonResponse(upload.to_api())


def _purpose(value: object) -> str:
    if value is None:
        raise missing_parameter("purpose")
    if value not in PURPOSES:
        raise bad_request(f"'{value}' is not one of {list(PURPOSES)} - 'purpose'", param="purpose")
    return str(value)


def _file(state: EmulatorState, file_id: str) -> FileRecord:
    record = state.files.get(file_id)
    if record is None:
        raise file_not_found(file_id)
    return record


def _pending_upload(state: EmulatorState, upload_id: str) -> UploadRecord:
    upload = state.uploads.get(upload_id)
    if upload is None:
        raise upload_not_found(upload_id)
    if upload.status != "pending":
        raise bad_request(
            f"Upload {upload_id} is already {upload.status}; only pending uploads can change.",
            param="upload_id",
        )
    return upload


ROUTES = [
    Route("POST", r"/v1/files", create_file),
    Route("GET", r"/v1/files", list_files),
    Route("GET", FILE, get_file),
    Route("GET", FILE + "/content", file_content),
    Route("DELETE", FILE, delete_file),
    Route("POST", r"/v1/uploads", create_upload),
    Route("POST", UPLOAD + "/parts", add_part),
    Route("POST", UPLOAD + "/complete", complete_upload),
    Route("POST", UPLOAD + "/cancel", cancel_upload),
]
