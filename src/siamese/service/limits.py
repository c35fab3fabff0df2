"""What the service accepts, checked before any image is decoded.

    request size      the whole body, by its Content-Length and as it streams in (413)
    content type      declared by the upload, and what its first bytes are (415)
    pixels            declared by the image's header (413; `siamese.inference.declared_size`)

A bad upload is a 4xx with a one-line reason, never a 500.
"""

from __future__ import annotations

import dataclasses

from siamese.inference import declared_size

# Content types an upload may declare, and the first bytes (magic numbers) each format starts with.
DECLARED = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/webp",
    "image/x-portable-graymap",
    "image/x-portable-anymap",
    "image/tiff",
    "application/octet-stream",
}
MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"RIFF": "WebP",
    b"P2": "PGM",
    b"P5": "PGM",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


class Refused(Exception):
    """An upload refused before decoding: `status` (4xx) and a one-line `reason`."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclasses.dataclass(frozen=True)
class Limits:
    """Args: max_request_bytes: a whole request; max_pixels: an image's declared width x height."""

    max_request_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 20_000_000

    def check_upload(self, name: str, declared_type: str | None, data: bytes) -> None:
        """Raise `Refused` unless `data` is an image of an accepted type and size."""
        declared = (declared_type or "application/octet-stream").split(";")[0].strip().lower()
        if declared not in DECLARED:
            raise Refused(415, f"{name}: content type {declared!r} is not an image type")
        if not data:
            raise Refused(400, f"{name}: empty upload")
        if not any(data.startswith(magic) for magic in MAGIC):
            raise Refused(415, f"{name}: not an image (its first bytes are no image format's)")
        size = declared_size(data)
        pixels = size if isinstance(size, int) or size is None else size[0] * size[1]
        if pixels is not None and pixels > self.max_pixels:
            raise Refused(
                413, f"{name}: declares {pixels:,} pixels, more than the {self.max_pixels:,} this service takes"
            )


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 before it is all read.

    A declared Content-Length over the limit is refused at once; a body that streams in
    without one is counted, and at the limit the 413 goes out and the application is told
    the client left (whatever it answers after that is dropped).
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await _refuse(send, self.max_bytes)
        state = {"received": 0, "started": False, "refused": False}

        async def limited_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["refused"] = True
                    if not state["started"]:
                        await _refuse(send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["refused"]:
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise


async def _refuse(send, max_bytes: int) -> None:
    body = f'{{"error": "request larger than {max_bytes} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
