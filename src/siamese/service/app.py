"""The HTTP service: verify, identify, enrol and forget over one gallery, behind API keys.

    GET  /health               no key    the model's id and the gallery's size
    GET  /                     no key    a page to try it from a browser
    GET  /docs, /openapi.json  no key    the API, documented
    POST /verify               any key   multipart image1, image2 -> distance, same, threshold
                                         or image1, name (+ rule, threshold) -> the same, against
                                         every reference of name (1:1), with rule and references
    POST /identify             any key   multipart image (+ top) -> name or "unknown", candidates
    POST /enroll               write key multipart name, image (one or more) -> embeddings stored
    DELETE /identities/{name}  write key the identity and all its embeddings removed

Keys come as `Authorization: Bearer KEY` (`siamese keys create`); none or a wrong one is 401,
a read-only key on enrol or forget 403. Uploads are checked before decoding
(`siamese.service.limits`); every refusal is a 4xx with a one-line reason. Uses the gallery
and inference only: on the ONNX path the service never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import threading

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from siamese.errors import GalleryUnavailableError, SiameseError, UnknownIdentityError
from siamese.gallery import Gallery
from siamese.inference import decode_image
from siamese.service.keys import Key, KeyStore
from siamese.service.limits import BodyLimit, Limits, Refused


def _handle_errors(app: FastAPI) -> None:
    """Refusals and the user's bad input become 4xx JSON with a one-line `error`."""

    @app.exception_handler(Refused)
    async def refused(request, error: Refused):
        return JSONResponse({"error": error.reason}, status_code=error.status)

    @app.exception_handler(SiameseError)
    async def bad_input(request, error: SiameseError):
        status = 404 if isinstance(error, UnknownIdentityError) else 422
        if isinstance(error, GalleryUnavailableError):  # the database, not the request: try again later
            status = 503
        return JSONResponse({"error": str(error)}, status_code=status)


def _authentication(keys: KeyStore):
    """(caller, writer): dependencies that give the request's key, or answer 401 / 403."""

    def caller(request: Request) -> Key:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = keys.check(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise HTTPException(
                401, "a valid API key is needed: Authorization: Bearer KEY", headers={"WWW-Authenticate": "Bearer"}
            )
        return key

    def writer(key: Key = Depends(caller)) -> Key:
        if not key.can_write:
            raise HTTPException(403, f"key {key.name!r} may read only; enrolling and forgetting need a write key")
        return key

    return caller, writer


def _verify_answer(gallery: Gallery, lock, first, second, name, rule: str, threshold: float | None) -> dict:
    """The two-image answer, or a claim's against every reference of `name`, with the same fields."""
    model = gallery.model
    if second is not None:
        result = model.verify(first, second, threshold=threshold)
        return {**dataclasses.asdict(result), "model_id": model.model_id}
    with lock:
        claim = gallery.verify_claim(name, first, rule=rule, threshold=threshold)
    return {**dataclasses.asdict(claim), "distance": claim.distance, "same": claim.same}


def create_app(gallery: Gallery, keys: KeyStore, limits: Limits = Limits()) -> FastAPI:
    """The FastAPI application over an opened gallery (its model answers) and its keys."""
    app = FastAPI(
        title="siamese", description="One-shot verification and identification with a Siamese network.", version="1"
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_request_bytes)
    _handle_errors(app)
    caller, writer = _authentication(keys)
    lock = threading.Lock()  # one SQLite connection and one index: one gallery call at a time
    model = gallery.model

    async def image_of(upload: UploadFile, field: str):
        data = await upload.read()
        name = upload.filename or field
        limits.check_upload(name, upload.content_type, data)
        return decode_image(data, name=name, channels=model.preprocessing.channels)  # keeps its name for errors

    @app.get("/health", tags=["service"])
    def health():
        with lock:
            count = len(gallery.identities())
        return {"status": "ok", "model_id": model.model_id, "engine": model.engine, "identities": count}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return (importlib.resources.files("siamese.service") / "page.html").read_text(encoding="utf-8")

    @app.post("/verify", tags=["images"])
    async def verify(
        image1: UploadFile = File(...),
        image2: UploadFile | None = File(None),
        name: str | None = Form(None),
        rule: str = Form("mean"),
        threshold: float | None = Form(None),
        key: Key = Depends(caller),
    ):
        if (image2 is None) == (name is None):
            raise SiameseError("verify takes image1 with either image2 or name (a claimed identity), not both")
        second = None if image2 is None else await image_of(image2, "image2")
        return _verify_answer(gallery, lock, await image_of(image1, "image1"), second, name, rule, threshold)

    @app.post("/identify", tags=["gallery"])
    async def identify(image: UploadFile = File(...), top: int = Form(5), key: Key = Depends(caller)):
        query = await image_of(image, "image")
        with lock:
            result = gallery.identify(query, top=max(1, min(top, 100)))
        return dataclasses.asdict(result)

    @app.post("/enroll", tags=["gallery"])
    async def enroll(name: str = Form(...), image: list[UploadFile] = File(...), key: Key = Depends(writer)):
        images = [await image_of(upload, "image") for upload in image]
        with lock:
            count = gallery.enroll(name, images)
        return {"name": name, "embeddings": count, "model_id": model.model_id}

    @app.delete("/identities/{name}", tags=["gallery"])
    def forget(name: str, key: Key = Depends(writer)):
        with lock:
            removed = gallery.forget(name)
        return {"name": name, "removed": removed}

    return app
