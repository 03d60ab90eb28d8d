"""File downloads that no cache keeps (decrypted documents, sealed envelopes)."""

from __future__ import annotations

import io
from typing import Any

from flask import send_file


def attachment(content: bytes, media_type: str, file_name: str) -> Any:
    response = send_file(io.BytesIO(content), mimetype=media_type, as_attachment=True,
                         download_name=file_name, etag=False, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response
