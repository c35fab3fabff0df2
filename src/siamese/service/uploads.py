"""Uploads in, embeddings out, within the service's memory budget and outside the gallery's lock.

Every upload of a request is checked first (its type, its first bytes, its header read once
for its pixels: `Limits.check_upload`), then the request as a whole (images, pixels in all),
before any is decoded. Then one image at a time is decoded and embedded while its pixels are
held from the process's `PixelBudget`, and let go: a request of twenty photos holds one
decoded, not twenty, and all the requests in flight together hold at most the budget. At most
one image per core is decoded and embedded at once (more would add no speed, only threads
that contend for the GIL with the event loop, which must stay free to answer `/health`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

import numpy as np

from siamese.gallery import Embedded
from siamese.inference import decode_image
from siamese.service.limits import Limits, PixelBudget
from siamese.service.turns import TurnLock


@dataclasses.dataclass(frozen=True)
class Upload:
    """An upload checked, not yet decoded: its bytes, the name errors give it, its declared pixels."""

    data: bytes
    name: str
    pixels: int


class Uploads:
    """Args: model: the `SiameseModel` that embeds; limits: the service's `Limits`."""

    def __init__(self, model, limits: Limits):
        self.model, self.limits = model, limits
        self.budget = PixelBudget(limits.pixels_in_flight)
        self.turns = TurnLock(holders=max(2, os.cpu_count() or 1))  # in the order asked: no request starves

    def checked(self, uploads) -> list[Upload]:
        """(UploadFile, field name) pairs read and checked, each header once; `Refused` or an `ImageError`
        for the first bad one, or for a request that brings too much in all."""
        checked = []
        for upload, field in uploads:
            data, name = upload.file.read(), upload.filename or field
            checked.append(Upload(data, name, self.limits.check_upload(name, upload.content_type, data)))
        self.limits.check_request(len(checked), sum(upload.pixels for upload in checked))
        return checked

    @contextlib.contextmanager
    def decoded(self, uploads: list[Upload]):
        """The uploads decoded together, their pixels held from the budget until the block ends."""
        with self.budget.hold(sum(upload.pixels for upload in uploads)), self.turns:
            channels = self.model.preprocessing.channels
            yield [decode_image(u.data, name=u.name, channels=channels, measured=u.pixels) for u in uploads]

    def embedded(self, uploads: list[Upload], *, embed=None, vet=None) -> tuple[Embedded, list]:
        """The uploads' embeddings, for the gallery, one image decoded, vetted and embedded at a time,
        and each one's verdict: `vet(image)` (a liveness check: a verdict, or None), `embed(images)`
        (default the model's `embed`; an enrolment's checks each reference)."""
        rows, verdicts = [], []
        for upload in uploads:
            with self.decoded([upload]) as (image,):
                verdicts.append(None if vet is None else vet(image))
                rows.append((embed or self.model.embed)([image])[0])
        return Embedded(np.stack(rows)), verdicts
