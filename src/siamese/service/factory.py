"""The service as one setting (`ServiceConfig`), and the application each worker process makes from it.

`siamese serve --workers N` hands uvicorn the import string
`siamese.service.factory:app_from_environment`; uvicorn starts N processes on one socket and
each calls it: it reads the setting from `$SIAMESE_SERVICE_CONFIG` (JSON, written by the
parent) and opens the gallery and its keys itself. The workers share nothing but the gallery
file: an enrolment one of them wrote is in the database when it answers 200, and every other
worker's `identify` brings its index up to the database's `generation` before it searches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys

from siamese.errors import ConfigError
from siamese.gallery import Gallery
from siamese.service.app import create_app
from siamese.service.keys import KeyStore
from siamese.service.limits import Limits
from siamese.service.liveness import LivenessGate

CONFIG_VARIABLE = "SIAMESE_SERVICE_CONFIG"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """Args: gallery: its address; model: for a new gallery; limits: what uploads may be;
    rate: each key's rate ("60/minute"); access_log: a file to append to, "-" for stderr, or None;
    liveness: "required", "optional" or "off" (None: required for a face model's gallery, else off;
    `siamese.service.liveness`); liveness_model: a calibrated copy of the liveness model, or None."""

    gallery: str
    model: str | None = None
    limits: Limits = Limits()
    rate: str | None = None
    access_log: str | None = None
    liveness: str | None = None
    liveness_model: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        fields = json.loads(text)
        return cls(**{**fields, "limits": Limits(**fields["limits"])})


def _log_access(target: str | None) -> logging.Handler | None:
    """Send the access log (`siamese.service.access`) to a file or to stderr; the handler, to remove on closing."""
    if target is None:
        return None
    logger = logging.getLogger("siamese.service.access")
    handler = logging.StreamHandler(sys.stderr) if target == "-" else logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


def _unlog_access(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger("siamese.service.access").removeHandler(handler)
        handler.close()


def open_service(config: ServiceConfig, gallery: Gallery | None = None):
    """The application over `config`'s gallery (opened here unless given), closed with the application;
    where anything fails on the way, the gallery, its keys and the access log are closed at once."""
    with contextlib.ExitStack() as opened:
        gallery = gallery if gallery is not None else Gallery.open_or_create(config.gallery, config.model)
        opened.callback(gallery.close)
        keys = KeyStore(config.gallery)
        opened.callback(keys.close)
        opened.callback(_unlog_access, _log_access(config.access_log))

        @contextlib.asynccontextmanager
        async def lifespan(app):
            with closing:
                yield

        gate = LivenessGate.for_gallery(gallery, config.liveness, config.liveness_model)
        app = create_app(gallery, keys, config.limits, rate=config.rate, lifespan=lifespan, liveness=gate)
        closing = opened.pop_all()  # from here the application closes them
    return app


def app_from_environment():
    """For uvicorn's worker processes (`factory=True`): the application over `$SIAMESE_SERVICE_CONFIG`."""
    text = os.environ.get(CONFIG_VARIABLE)
    if not text:
        raise ConfigError(f"${CONFIG_VARIABLE} is not set: start the workers with `siamese serve --workers N`")
    return open_service(ServiceConfig.from_json(text))
