"""The HTTP service: verify, identify, enrol and forget over one gallery, behind API keys.

    GET  /health               no key    the model's id, the gallery's size, this worker's pid
    GET  /metrics              no key    Prometheus metrics (`siamese.service.metrics`)
    GET  /                     no key    a page to try it from a browser: images, or a camera log-in
    GET  /docs, /openapi.json  no key    the API, documented
    POST /verify               any key   multipart image1, image2 -> distance, same, threshold
                                         or image1, name (+ rule, threshold) -> the same, against
                                         every reference of name (1:1), with rule and references
    POST /identify             any key   multipart image (+ top) -> name or "unknown", candidates
    POST /enroll               write key multipart name, image (one or more) -> embeddings stored
    DELETE /identities/{name}  write key the identity and all its embeddings removed

Keys come as `Authorization: Bearer KEY` (`siamese keys create`); none or a wrong one is 401,
a key over its rate (`rate=`) 429 with `Retry-After`, both from the headers before the body is
read (`siamese.service.gate`); a read-only key on enrol or forget 403. Uploads are checked
before decoding, and decoded one at a time within a pixel budget (`siamese.service.limits`,
`siamese.service.uploads`). Every refusal is a 4xx with one JSON shape, `{"error": "one line"}`,
and no answer names the server's files.

The routes that decode, embed or search are plain functions, which Starlette runs in its
thread pool: the event loop stays free to read requests and answer `/health` while they work.
Each request prepares its query (decodes, detects, embeds) in its own thread, with no lock;
the gallery (one database connection, one index) takes its lock, a `TurnLock`, only to search
and write; two-image verification never takes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import logging
import os

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from siamese.errors import GalleryDatabaseError, GalleryUnavailableError, SiameseError, UnknownIdentityError
from siamese.gallery import Gallery
from siamese.gallery.quality import embed_references
from siamese.service import metrics as prometheus
from siamese.service.access import AccessLog
from siamese.service.census import Census
from siamese.service.gate import KeyGate
from siamese.service.keys import Key, KeyStore
from siamese.service.limits import BodyLimit, Limits, Refused
from siamese.service.liveness import LivenessGate, with_liveness
from siamese.service.rate import RateLimit
from siamese.service.turns import TurnLock
from siamese.service.uploads import Uploads

logger = logging.getLogger(__name__)


class Error(BaseModel):
    """Every 4xx answer: one line that says what was refused and why."""

    error: str


_MEANING = {
    400: "an empty upload",
    401: "no API key, or not a valid one",
    403: "a read-only key on a write",
    404: "no identity of that name",
    413: "a request or an image larger than the service takes (bytes, pixels, images)",
    415: "an upload that is not an image",
    422: "a missing or malformed field, or an image that cannot be read",
    429: "the key's rate is spent; Retry-After says for how many seconds",
}


def _refusals(*codes: int) -> dict:
    """OpenAPI `responses` for the 4xx a route may answer, all of the shape `Error`."""
    return {code: {"model": Error, "description": _MEANING[code]} for code in codes}


def _private_names(gallery: Gallery) -> list[tuple[str, str]]:
    """(text, what to say instead) for the server's own paths, longest first: answers never show them."""
    named = []
    for path, instead in ((getattr(gallery.store, "path", None), "the gallery"), (gallery.model.path, "the model")):
        if isinstance(path, str | os.PathLike):
            named += [(str(path), instead), (str(os.path.abspath(path)), instead)]
        elif path is not None:  # a database's address (shown without its password)
            named.append((str(path), instead))
    return sorted(set(named), key=lambda pair: -len(pair[0]))


def _field_problem(error: RequestValidationError) -> str:
    """FastAPI's list of validation problems as one line about the first of them."""
    first = (error.errors() or [{}])[0]
    field = next((str(part) for part in reversed(first.get("loc", ())) if isinstance(part, str)), "request")
    if first.get("type") == "missing":
        return f"missing form field {field!r}"
    return f"form field {field!r}: {first.get('msg', 'not valid')}"


def _handle_errors(app: FastAPI, private: list[tuple[str, str]]):
    """Every refusal becomes `{"error": "one line"}` with its 4xx, without the server's paths;
    returns the function that hides them (for the middleware's own answers)."""

    def hidden(message: str) -> str:
        for text, instead in private:
            message = message.replace(f"{text}: ", "").replace(text, instead)
        return message.splitlines()[0] if message else message

    @app.exception_handler(Refused)
    async def refused(request, error: Refused):
        return JSONResponse({"error": hidden(error.reason)}, status_code=error.status)

    @app.exception_handler(SiameseError)
    async def bad_input(request, error: SiameseError):
        status = 404 if isinstance(error, UnknownIdentityError) else 422
        if isinstance(error, GalleryUnavailableError):  # the database, not the request: try again later
            status = 503
        if isinstance(error, GalleryDatabaseError):  # a statement timed out or was refused: said in the log only
            logger.error("a request failed in the gallery's database: %s", error)
            return JSONResponse({"error": "the gallery's database failed this request"}, status_code=500)
        return JSONResponse({"error": hidden(str(error))}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_refusal(request, error: StarletteHTTPException):
        return JSONResponse({"error": hidden(str(error.detail))}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_form(request, error: RequestValidationError):
        return JSONResponse({"error": _field_problem(error)}, status_code=422)

    return hidden


async def caller(request: Request) -> Key:
    """The request's key, which `KeyGate` checked (401, 429) before the body was read (`async`:
    nothing to wait for, so no trip through the thread pool)."""
    return request.state.key


async def writer(key: Key = Depends(caller)) -> Key:
    """The request's key, or 403 for a read-only one."""
    if not key.can_write:
        raise HTTPException(403, f"key {key.name!r} may read only; enrolling and forgetting need a write key")
    return key


def _verify_answer(gallery: Gallery, uploads: Uploads, checked, name, rule: str, threshold, vet) -> tuple:
    """(the two-image answer, or a claim's against every reference of `name`, with the same fields;
    image1's liveness verdict or None)."""
    model = gallery.model
    if len(checked) == 2:
        with uploads.decoded(checked) as (first, second):
            verdict = vet(first)  # not image2: a document's photo?
            result = model.verify(first, second, threshold=threshold)  # the model alone: no gallery, no lock
        return {**dataclasses.asdict(result), "model_id": model.model_id}, verdict
    query, verdicts = uploads.embedded(checked, vet=vet)
    claim = gallery.verify_claim(name, query, rule=rule, threshold=threshold)
    return {**dataclasses.asdict(claim), "distance": claim.distance, "same": claim.same}, verdicts[0]


def _service_routes(app: FastAPI, model, census: Census, measured) -> None:
    """The routes without a key: health, metrics (when `measured`), the page."""

    @app.get("/health", tags=["service"])
    async def health():
        return {
            "status": "ok",
            "model_id": model.model_id,
            "engine": model.engine,
            "identities": census.current(),
            "worker": os.getpid(),
        }

    if measured is not None:

        @app.get("/metrics", tags=["service"], response_class=Response)
        async def metrics_text():
            census.current()  # the gallery's size, counted again when it is old
            body, kind = measured.exposition()
            return Response(body, media_type=kind)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return (importlib.resources.files("siamese.service") / "page.html").read_text(encoding="utf-8")


def create_app(
    gallery: Gallery,
    keys: KeyStore,
    limits: Limits = Limits(),
    *,
    rate: str | None = None,
    metrics: bool | None = None,
    lifespan=None,
    liveness: LivenessGate = LivenessGate("off"),
) -> FastAPI:
    """The FastAPI application over an opened gallery (its model answers) and its keys.

    Args:
        rate: each key's rate limit ("60/minute"; `siamese.service.rate`), default none.
        metrics: `/metrics` for Prometheus; default: when `prometheus_client` is installed.
        lifespan: FastAPI's lifespan (what to open and close with the application).
        liveness: which uploads must be live faces (`siamese.service.liveness`); default none of them.
    """
    app = FastAPI(
        title="siamese",
        description="One-shot verification and identification with a Siamese network.",
        version="1",
        lifespan=lifespan,
    )
    measured = prometheus.Metrics() if (prometheus.available() if metrics is None else metrics) else None
    hidden = _handle_errors(app, _private_names(gallery))
    app.add_middleware(BodyLimit, max_bytes=limits.max_request_bytes)
    gate = {"rate": RateLimit(rate) if rate else None, "routes": app.router.routes, "hidden": hidden}
    app.add_middleware(KeyGate, keys=keys, **gate)
    app.add_middleware(AccessLog, metrics=measured)
    gallery.lock = TurnLock()  # one database connection and one index: their searches and writes in turn
    model, uploads = gallery.model, Uploads(gallery.model, limits)
    census = Census(  # a count takes the gallery's lock itself
        gallery.count, contextlib.nullcontext(), on_count=measured.identities.set if measured is not None else None
    )

    _service_routes(app, model, census, measured)

    def vet(asked: bool | None):
        """A decoded image's liveness verdict (an attack: 422), or None where this request is not checked."""
        return lambda image: (liveness.check([image], asked) or [None])[0]

    @app.post("/verify", tags=["images"], responses=_refusals(400, 401, 404, 413, 415, 422, 429))
    def verify(
        image1: UploadFile = File(...),
        image2: UploadFile | None = File(None),
        name: str | None = Form(None),
        rule: str = Form("mean"),
        threshold: float | None = Form(None),
        asked: bool | None = Form(None, alias="liveness"),
        key: Key = Depends(caller),
    ):
        if (image2 is None) == (name is None):
            raise SiameseError("verify takes image1 with either image2 or name (a claimed identity), not both")
        given = [(image1, "image1")] + ([] if image2 is None else [(image2, "image2")])
        answer, checked = _verify_answer(gallery, uploads, uploads.checked(given), name, rule, threshold, vet(asked))
        return with_liveness(answer, checked)

    @app.post("/identify", tags=["gallery"], responses=_refusals(400, 401, 413, 415, 422, 429))
    def identify(
        image: UploadFile = File(...),
        top: int = Form(5),
        asked: bool | None = Form(None, alias="liveness"),
        key: Key = Depends(caller),
    ):
        query, checked = uploads.embedded(uploads.checked([(image, "image")]), vet=vet(asked))  # without the lock
        return with_liveness(dataclasses.asdict(gallery.identify(query, top=max(1, min(top, 100)))), checked[0])

    @app.post("/enroll", tags=["gallery"], responses=_refusals(400, 401, 403, 413, 415, 422, 429))
    def enroll(
        name: str = Form(...),
        image: list[UploadFile] = File(...),
        asked: bool | None = Form(None, alias="liveness"),
        key: Key = Depends(writer),
    ):
        given = uploads.checked([(upload, "image") for upload in image])
        references, checked = uploads.embedded(given, embed=lambda one: embed_references(model, one), vet=vet(asked))
        count = gallery.enroll(name, references)
        checked = None if all(verdict is None for verdict in checked) else checked
        census.stale()
        return with_liveness({"name": name, "embeddings": count, "model_id": model.model_id}, checked)

    @app.delete("/identities/{name}", tags=["gallery"], responses=_refusals(401, 403, 404, 422, 429))
    def forget(name: str, key: Key = Depends(writer)):
        removed = gallery.forget(name)
        census.stale()
        return {"name": name, "removed": removed}

    return app
