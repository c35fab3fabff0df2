"""A gallery: people (or signatures, or characters) enrolled from a few images, recognised from then on.

    gallery = Gallery.create("people.db", model="omniglot")   # or Gallery.open("people.db"),
                                                             # or "postgresql://app@db:5432/people"
    gallery.enroll("alice", ["alice1.png", "alice2.png"])
    gallery.identify("query.png")      # Identification(name='alice', distance=0.08, known=True, ...)
    gallery.verify_claim("alice", "query.png", rule="mean")   # ClaimVerification(accepted=True, ...)
    gallery.forget("alice")            # every embedding of hers, and her name, gone from the file

A path is an SQLite file searched by a FAISS index kept beside it (`siamese.gallery.store`,
`siamese.gallery.index`); a postgresql:// URL is a database shared by many processes, which
searches itself (`siamese.gallery.postgres`). Only embeddings are stored, never images,
each with the model that made it; a gallery answers only with its own model (a model trained again is another model). The decision is
the model's open-set point for the gallery's size where it was calibrated for one, else its
pair threshold (`siamese.open_set`): a stranger is answered "unknown", not with the nearest name.
Built on the public inference API, so the ONNX path stays free of TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from siamese.claims import CLASSIFIER_NEGATIVES, claim_scores, classifier_scores, minimum_references, reference_spread
from siamese.data.faces import FaceLog
from siamese.errors import ConfigError, GalleryError, UnknownIdentityError
from siamese.gallery.index import Index
from siamese.gallery.location import PostgresLocation, gallery_location
from siamese.gallery.store import Store
from siamese.gallery.stores import create_store, open_store, store_exists
from siamese.inference import SiameseModel, lasting_name, load_model
from siamese.open_set import operating_point

UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    distance: float


@dataclasses.dataclass(frozen=True)
class Identification:
    """Who it is: `name` (or "unknown" when even the nearest is farther than the threshold),
    the nearest identity's distance, and the `top` nearest identities, nearest first;
    `reason` says where the threshold came from (`siamese.open_set.operating_point`)."""

    name: str
    distance: float | None
    known: bool
    threshold: float
    candidates: tuple
    model_id: str
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ClaimVerification:
    """Is the image who it claims to be? `score` of the image against the `references`
    enrolled embeddings of `name` under `rule` (`siamese.claims`), accepted when at or below
    `threshold`; `distances` to each reference, in enrolment order. `distance` and `same`
    read it as the two-image `Verification` does."""

    name: str
    rule: str
    score: float
    threshold: float
    accepted: bool
    references: int
    distances: tuple
    model_id: str

    @property
    def distance(self) -> float:
        return self.score

    @property
    def same(self) -> bool:
        return self.accepted


def _check_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > 200
        or any(ord(c) < 32 for c in name)
        or name == UNKNOWN
    ):
        raise GalleryError(f"name {name!r}: must be 1 to 200 printable characters, and not {UNKNOWN!r}")
    return name


class Gallery:
    """A gallery's store and its search, over one model; see the module docstring.

    Args:
        store: the opened database: a `Store` (SQLite; searched by a FAISS index kept here) or a
            `PostgresStore` (which searches itself: no index here).
        model: the `SiameseModel` whose embeddings the gallery holds (checked by its id).
    """

    def __init__(self, store: Store, model: SiameseModel):
        if model.model_id != store.model_id:
            raise GalleryError(
                f"{store.path}: holds embeddings of model {store.model_id[:12]} ({store.model}); "
                f"{model.path or 'this model'} is model {model.model_id[:12]}: embeddings of two models do not compare"
            )
        self.store, self.model = store, model
        self.index = None if store.searches else Index(store.distance_name, store.dim, numpy_distance=model.distances)
        self.index_path = None if store.searches else store.path.with_name(store.path.name + ".index.npz")
        self._unsaved = False

    @classmethod
    def create(
        cls, path: str | os.PathLike | PostgresLocation, model: str | os.PathLike | SiameseModel | None = None
    ) -> Gallery:
        """A new gallery at `path` (a file, or a postgresql:// URL) for `model` (a loaded model, a path or a
        shipped model's name; default the shipped one)."""
        loaded = model if isinstance(model, SiameseModel) else load_model(model)
        spec = lasting_name(loaded.path if isinstance(model, SiameseModel) else model)
        store = create_store(
            path, model_id=loaded.model_id, model=spec, distance_name=loaded.distance_name, dim=loaded.embedding_dim
        )
        return cls(store, loaded)

    @classmethod
    def open(
        cls, path: str | os.PathLike | PostgresLocation, model: str | os.PathLike | SiameseModel | None = None
    ) -> Gallery:
        """An existing gallery, with its own model (or `model`, which must be that very model)."""
        store = open_store(path)
        loaded = model if isinstance(model, SiameseModel) else load_model(model if model is not None else store.model)
        return cls(store, loaded)

    @classmethod
    def open_or_create(
        cls, path: str | os.PathLike | PostgresLocation, model: str | os.PathLike | SiameseModel | None = None
    ) -> Gallery:
        """The gallery at `path`, made for `model` (default the shipped one) if there is none yet."""
        location = gallery_location(path)
        return cls.open(location, model) if store_exists(location) else cls.create(location, model)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances, ids) of the nearest embeddings: asked of the database where it searches, else of the index."""
        return (self.store if self.store.searches else self._fresh_index()).search(queries, k)

    def _fresh_index(self) -> Index:
        """The index, brought up to the database: from memory or its file, extended with what
        was enrolled since, or rebuilt (and saved) when something it holds was forgotten."""
        if self.index.generation == self.store.generation:
            return self.index
        if self.index.generation < 0:
            self.index.load(self.index_path)
        newer = self.store.vectors(since=self.index.ids) if self.index.generation >= 0 else None
        if newer is None:
            self.index.build(*self.store.vectors())
            self._save()
        elif len(newer[0]) or self.index.generation != newer[2]:
            self.index.add(*newer)
            self._unsaved = True
        return self.index

    def _save(self) -> None:
        self.index.save(self.index_path)
        self._unsaved = False

    def enroll(self, name: str, images, *, detect: bool = True, faces: FaceLog | None = None) -> int:
        """Store the embeddings of `images` (paths or arrays) under `name`; returns how many.

        `detect`, `faces`: as in `SiameseModel.embed` (a face model's crop; images without a face).

        The database has them at once, for every process; the index file is rewritten when the
        gallery is closed (meanwhile other processes extend the index they load from the database).
        """
        embeddings = self.model.embed(images, detect=detect, faces=faces)  # every image read before anything is written
        index = None if self.store.searches else self._fresh_index()
        ids, before = self.store.add(_check_name(name), embeddings)
        # nobody else wrote since the index was brought up: extend it
        if index is not None and index.generation == before:
            index.add(np.asarray(ids), embeddings, before + 1)
            self._unsaved = True
        return len(ids)

    def identify(
        self,
        image,
        *,
        top: int = 5,
        threshold: float | None = None,
        detect: bool = True,
        faces: FaceLog | None = None,
    ) -> Identification:
        """The nearest identities to `image` and the decision at `threshold`, else the model's
        open-set threshold for the gallery's size, else its pair threshold (`siamese.open_set`);
        `detect`, `faces`: as in `SiameseModel.embed`."""
        if top < 1:
            raise ConfigError(f"top must be at least 1, got {top}")
        if threshold is None and self.model.threshold is None and self.model.open_set is None:
            raise GalleryError(f"{self.model.path}: has no calibrated threshold; pass one")
        query = self.model.embed(image, detect=detect, faces=faces)
        distances, ids = self._search(query, max(8 * top, 64))
        names, best = self.store.names_of(ids[0]), {}
        for distance, row in zip(distances[0], ids[0]):
            name = names.get(int(row))
            if name is not None and name not in best:
                best[name] = float(distance)
        ranked = sorted(best.items(), key=lambda kv: kv[1])
        candidates = tuple(Candidate(name, d) for name, d in ranked[:top])
        nearest = candidates[0] if candidates else None
        point = operating_point(
            self._size(),
            open_set=self.model.open_set,
            pair_threshold=self.model.threshold,
            given=threshold,
            runner_up=ranked[1][1] if len(ranked) > 1 else None,
            name=str(self.model.path),
        )
        known = nearest is not None and nearest.distance <= point.threshold
        return Identification(
            name=nearest.name if known else UNKNOWN,
            distance=nearest.distance if nearest else None,
            known=known,
            threshold=point.threshold,
            candidates=candidates,
            model_id=self.model.model_id,
            reason=point.reason,
        )

    def _size(self) -> int:
        """Enrolled embeddings (as the last search saw them): each one more chance for a stranger
        to fall near someone."""
        if self.index is not None:
            return self.index.size
        return sum(count for _, count in self.store.identities())

    def verify_claim(
        self,
        name: str,
        image,
        *,
        rule: str = "mean",
        threshold: float | None = None,
        detect: bool = True,
        faces: FaceLog | None = None,
    ) -> ClaimVerification:
        """1:1 verification: `image` against every embedding enrolled under `name`, scored by
        `rule` ("mean", "min", "normalized" or "svm", see `siamese.claims`) and decided at
        `threshold`; `detect`, `faces`: as in `SiameseModel.embed`.

        The model's threshold (a pair distance) serves mean and min; the normalized score is a
        ratio and needs its own `threshold`, chosen on validation data; the svm rule's
        classifier is fitted on `name`'s references against the other identities' embeddings,
        its threshold 0 (the classifier's boundary) unless one is given.
        """
        minimum = minimum_references(rule)
        if threshold is None and rule == "normalized":
            raise ConfigError("the normalized rule needs its own threshold (a ratio, not a distance); pass one")
        default = {"svm": 0.0}.get(rule, self.model.threshold)
        threshold = default if threshold is None else float(threshold)
        if threshold is None:
            raise GalleryError(f"{self.model.path}: has no calibrated threshold; pass one")
        references = self.store.vectors_of(name)
        if references is None:
            raise UnknownIdentityError(f"{self.store.path}: no identity named {name!r}")
        if len(references) < minimum:
            raise GalleryError(
                f"{self.store.path}: {name!r} has {len(references)} reference(s); the {rule} rule needs {minimum} or more"
            )
        query = self.model.embed(image, detect=detect, faces=faces)
        to_references = self.model.distances(np.repeat(query, len(references), 0), references)
        spread = None
        if rule == "normalized":
            first, second = np.triu_indices(len(references), k=1)
            among = np.zeros((len(references), len(references)))
            among[first, second] = self.model.distances(references[first], references[second])
            spread = reference_spread(among)
        if rule == "svm":
            score = float(classifier_scores(references, self._others(name), query)[0])
        else:
            score = float(claim_scores(to_references[None], rule, spread=spread)[0])
        return ClaimVerification(
            name=name,
            rule=rule,
            score=score,
            threshold=threshold,
            accepted=bool(score <= threshold),
            references=len(references),
            distances=tuple(float(d) for d in to_references),
            model_id=self.model.model_id,
        )

    def _others(self, name: str) -> np.ndarray:
        """The embeddings of other identities than `name` (the svm rule's negatives): all of
        them, or of `CLASSIFIER_NEGATIVES` identities drawn with a fixed seed in a larger gallery."""
        names = [other for other, count in self.store.identities() if other != name and count]
        if not names:
            raise GalleryError(f"{self.store.path}: the svm rule needs other identities enrolled beside {name!r}")
        if len(names) > CLASSIFIER_NEGATIVES:
            names = sorted(np.random.default_rng(0).choice(names, CLASSIFIER_NEGATIVES, replace=False))
        return np.concatenate([self.store.vectors_of(other) for other in names])

    def forget(self, name: str) -> int:
        """Remove `name` and every embedding of theirs (from the database, and from the index and
        its file, which are rebuilt without them)."""
        removed = self.store.remove(name)
        if removed == 0:
            raise UnknownIdentityError(f"{self.store.path}: no identity named {name!r}")
        if self.index is not None:
            self.index.generation = -1  # whatever it holds, it held them: rebuild
            self.index.build(*self.store.vectors())
            self._save()
        return removed

    def identities(self) -> list[tuple[str, int]]:
        """(name, embeddings) of every enrolled identity."""
        return self.store.identities()

    def close(self) -> None:
        """Save the index if enrolments extended it since it was last written, and close the database."""
        if self._unsaved:
            self._save()
        self.store.close()
