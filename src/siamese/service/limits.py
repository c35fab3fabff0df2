"""What the service accepts, checked before any image is decoded, and the memory decoding may take.

    request size      the whole body, by its Content-Length and as it streams in (413)
    content type      declared by the upload, and what its first bytes are (415)
    pixels            declared by the image's header, read once (413; `siamese.inference.measure`:
                      an image whose header does not tell its size is not decoded at all)
    images            per request (413), and their declared pixels in all (413)
    pixels in flight  decoded at once in this process, whatever the clients send (`PixelBudget`)

The pixel limit has one home, `siamese.inference.MAX_PIXELS`; a service may only take less.
A bad upload is a 4xx with a one-line reason, never a 500.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading

from siamese.errors import ConfigError, ImageTooLargeError
from siamese.inference import MAX_PIXELS, measure

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
    """Args: max_request_bytes: a whole request; max_pixels: an image's declared width x height (at
    most `MAX_PIXELS`); max_images: images in one request; max_request_pixels: their declared pixels
    in all; pixels_in_flight: pixels this process holds decoded at once (an image waits for its share)."""

    max_request_bytes: int = 10 * 1024 * 1024
    max_pixels: int = MAX_PIXELS
    max_images: int = 20
    max_request_pixels: int = 5 * MAX_PIXELS
    pixels_in_flight: int = 2 * MAX_PIXELS

    def __post_init__(self):
        if not 1 <= self.max_pixels <= MAX_PIXELS:
            raise ConfigError(f"max_pixels must be 1 to {MAX_PIXELS:,} (siamese's limit), got {self.max_pixels:,}")
        if min(self.max_images, self.max_request_pixels, self.pixels_in_flight) < 1:
            raise ConfigError("max_images, max_request_pixels and pixels_in_flight must be at least 1")

    def check_request(self, images: int, pixels: int) -> None:
        """Raise `Refused` (413) for more images, or more declared pixels in all, than one request may bring."""
        if images > self.max_images:
            raise Refused(413, f"{images} images in one request, more than the {self.max_images} this service takes")
        if pixels > self.max_request_pixels:
            raise Refused(
                413,
                f"the images declare {pixels:,} pixels in all, more than the {self.max_request_pixels:,} of a request",
            )

    def check_upload(self, name: str, declared_type: str | None, data: bytes) -> int:
        """The pixels `data` declares (its header read once, here); `Refused` unless it is an image of an
        accepted type and size; an `ImageError` when its header cannot be read or does not tell its size."""
        declared = (declared_type or "application/octet-stream").split(";")[0].strip().lower()
        if declared not in DECLARED:
            raise Refused(415, f"{name}: content type {declared!r} is not an image type")
        if not data:
            raise Refused(400, f"{name}: empty upload")
        if not any(data.startswith(magic) for magic in MAGIC):
            raise Refused(415, f"{name}: not an image (its first bytes are no image format's)")
        try:
            pixels = measure(data, name)
        except ImageTooLargeError as error:  # over siamese's limit, so over the service's too
            pixels = error.pixels
        if pixels > self.max_pixels:
            raise Refused(
                413, f"{name}: declares {pixels:,} pixels, more than the {self.max_pixels:,} this service takes"
            )
        return pixels


class PixelBudget:
    """Pixels decoded at once in this process, at most `pixels`: `with budget.hold(n):` waits for n to
    be free (an image larger than the whole budget waits for all of it), so memory is bounded by design."""

    def __init__(self, pixels: int):
        self.pixels, self._free = pixels, pixels
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int):
        pixels = min(pixels, self.pixels)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= pixels)
            self._free -= pixels
        try:
            yield
        finally:
            with self._changed:
                self._free += pixels
                self._changed.notify_all()


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
            return await answer(send, 413, f"request larger than {self.max_bytes} bytes")
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
                        await answer(send, 413, f"request larger than {self.max_bytes} bytes")
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


async def answer(send, status: int, error: str, headers: tuple = ()) -> None:
    """A refusal from ASGI middleware, before the application: `{"error": error}` with `status`."""
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
