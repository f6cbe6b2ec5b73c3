"""A multipart form read entirely in memory: an uploaded file is never written to disk.

Starlette's parser spools a file part over 1 MB into a temporary file; an accounts CSV holds
passwords, so the import routes (API and page) parse with :func:`memory_form`, whose spool
never rolls over below the request cap (``api.body_limit`` has already capped the body, so
nothing larger can arrive). At most ``max_files`` files and ``max_fields`` fields.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

UPLOAD_MAX_BYTES = 6 * 1024 * 1024  # an import file (5 MB) and its form fields


class _MemoryParser(MultiPartParser):
    spool_max_size = UPLOAD_MAX_BYTES + 1  # a SpooledTemporaryFile stays a BytesIO below this


async def memory_form(request: Request, *, max_files: int = 1, max_fields: int = 200) -> FormData:
    """The posted form (multipart or urlencoded), any file part kept in memory."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return await request.form(max_files=max_files, max_fields=max_fields)
    parser = _MemoryParser(
        request.headers,
        request.stream(),
        max_files=max_files,
        max_fields=max_fields,
        max_part_size=UPLOAD_MAX_BYTES,
    )
    try:
        return await parser.parse()
    except MultiPartException:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "file"}) from None


__all__ = ["UPLOAD_MAX_BYTES", "memory_form"]
