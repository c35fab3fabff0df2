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

A gallery may be used from many threads: its lock (`lock`, given or its own) is held only for
the store and the index, searched or written; decoding, face detection and the network run
before it is taken (an image, or embeddings made beforehand with `prepare`), and an svm
claim's classifier, and the scrubbing of a forgotten person's pages, after it is let go.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from siamese.claims import CLASSIFIER_NEGATIVES, claim_scores, classifier_scores, minimum_references, reference_spread
from siamese.data.faces import FaceLog
from siamese.errors import ConfigError, GalleryError, UnknownIdentityError
from siamese.gallery.answers import Candidate, ClaimVerification, Identification
from siamese.gallery.embedded import Embedded
from siamese.gallery.index import Index
from siamese.gallery.location import PostgresLocation, gallery_location
from siamese.gallery.quality import embed_references
from siamese.gallery.store import Store
from siamese.gallery.stores import create_store, open_store, store_exists
from siamese.inference import SiameseModel, lasting_name, load_model
from siamese.open_set import claim_point, operating_point

UNKNOWN = "unknown"


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
        lock: held around every use of the store and the index (default a lock of its own).
    """

    def __init__(self, store: Store, model: SiameseModel, *, lock=None):
        if model.model_id != store.model_id:
            raise GalleryError(
                f"{store.path}: holds embeddings of model {store.model_id[:12]} ({store.model}); "
                f"{model.path or 'this model'} is model {model.model_id[:12]}: embeddings of two models do not compare"
            )
        self.store, self.model = store, model
        self.index = None if store.searches else Index(store.distance_name, store.dim, numpy_distance=model.distances)
        self.index_path = None if store.searches else store.path.with_name(store.path.name + ".index.npz")
        self._unsaved = False
        self.lock = threading.RLock() if lock is None else lock

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
        """The gallery at `path`, made for `model` (default the shipped one) if there is none yet
        (or opened when another process made it first, between the look and the making)."""
        location = gallery_location(path)
        if store_exists(location):
            return cls.open(location, model)
        try:
            return cls.create(location, model)
        except Exception:  # another process made it first (SQLite: the file exists; PostgreSQL: a unique key)
            if not store_exists(location):
                raise
        return cls.open(location, model)

    def prepare(self, images, *, detect: bool = True, faces: FaceLog | None = None) -> Embedded:
        """Embed `images` (paths or arrays) with the gallery's model, without the gallery's lock: what
        `enroll`, `identify` and `verify_claim` then take; `detect`, `faces`: as in `SiameseModel.embed`."""
        return Embedded(self.model.embed(images, detect=detect, faces=faces))

    def _embedded(self, images, detect: bool, faces: FaceLog | None) -> np.ndarray:
        return (
            images.vectors if isinstance(images, Embedded) else self.prepare(images, detect=detect, faces=faces).vectors
        )

    def _nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """(distances, ids, id -> name) of the embeddings nearest one query (1, dim): asked of the database
        where it searches (one round trip), else of the index and then the names of the database."""
        if self.store.searches:
            return self.store.nearest(query[0], k)
        distances, ids = self._fresh_index().search(query, k)
        return distances[0], ids[0], self.store.names_of(ids[0])

    def _fresh_index(self) -> Index:
        """The index, brought up to the database: from memory or its file (built from the
        database where there is none), without what was forgotten since (saved at once, so the
        file holds no one forgotten), and extended with what was enrolled since."""
        if self.index.generation == self.store.generation:
            return self.index
        if self.index.generation < 0 and not self.index.load(self.index_path):
            self.index.build(*self.store.vectors())
            self._save()
            return self.index
        gone, ids, vectors, generation = self.store.changes(self.index.ids)
        if len(gone):
            self.index.drop(gone, generation)
        if len(ids) or self.index.generation != generation:
            self.index.add(ids, vectors, generation)
            self._unsaved = True
        if len(gone):
            self._save()
        return self.index

    def _save(self) -> None:
        self.index.save(self.index_path)
        self._unsaved = False

    def enroll(
        self,
        name: str,
        images,
        *,
        detect: bool = True,
        on_no_face: str | None = None,
        faces: FaceLog | None = None,
        liveness=None,
    ) -> int:
        """Store the embeddings of `images` (paths or arrays, or `Embedded`) under `name`; returns how many.

        `detect`, `faces`: as in `SiameseModel.embed` (a face model's crop). A face model's
        references are checked first (`siamese.gallery.quality`): one face, large enough, and
        live when a `liveness` model (`siamese.inference.liveness.load_liveness()`) is given;
        `on_no_face="whole"` takes a photo in which no face is found whole instead of refusing it.

        The database has them at once, for every process; the index file is rewritten when the
        gallery is closed (meanwhile other processes extend the index they load from the database).
        """
        _check_name(name)
        # every image read and checked before anything is written (`Embedded`: checked when prepared)
        embeddings = (
            images.vectors
            if isinstance(images, Embedded)
            else embed_references(
                self.model, images, detect=detect, on_no_face=on_no_face, faces=faces, liveness=liveness
            )
        )
        with self.lock:
            index = None if self.store.searches else self._fresh_index()
            ids, before = self.store.add(name, embeddings)
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
        query = self._embedded(image, detect, faces)
        sized = threshold is None and self.model.open_set is not None  # the point depends on the size
        with self.lock:
            distances, ids, names = self._nearest(query, max(8 * top, 64))
            size = self._size() if sized else None
        best = {}
        for distance, row in zip(distances, ids):
            name = names.get(int(row))
            if name is not None and name not in best:
                best[name] = float(distance)
        ranked = sorted(best.items(), key=lambda kv: kv[1])
        candidates = tuple(Candidate(name, d) for name, d in ranked[:top])
        nearest = candidates[0] if candidates else None
        point = operating_point(
            size,
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
        return self.index.size if self.index is not None else self.store.size()

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

        Mean and min are decided at the model's open-set point read for a gallery of the
        references (at most its target share of impostors accepted), or without one at its pair
        threshold (`siamese.open_set.claim_point`); the normalized score is a ratio and needs
        its own `threshold`, chosen on validation data; the svm rule's classifier is fitted on
        `name`'s references against the other identities' embeddings, its threshold 0 (the
        classifier's boundary) unless one is given.
        """
        minimum = minimum_references(rule)
        if threshold is None and rule == "normalized":
            raise ConfigError("the normalized rule needs its own threshold (a ratio, not a distance); pass one")
        if threshold is None and rule != "svm" and self.model.threshold is None and self.model.open_set is None:
            raise GalleryError(f"{self.model.path}: has no calibrated threshold; pass one")
        query = self._embedded(image, detect, faces)
        with self.lock:
            references = self.store.vectors_of(name)
            others = self._others(name) if rule == "svm" and references is not None else None
        if references is None:
            raise UnknownIdentityError(f"{self.store.path}: no identity named {name!r}")
        if len(references) < minimum:
            raise GalleryError(
                f"{self.store.path}: {name!r} has {len(references)} reference(s); the {rule} rule needs {minimum} or more"
            )
        if rule == "svm" and others is None:
            raise GalleryError(f"{self.store.path}: the svm rule needs other identities enrolled beside {name!r}")
        point = claim_point(
            len(references), rule, open_set=self.model.open_set, pair_threshold=self.model.threshold, given=threshold
        )
        to_references = self.model.distances(np.repeat(query, len(references), 0), references)
        spread = None
        if rule == "normalized":
            first, second = np.triu_indices(len(references), k=1)
            among = np.zeros((len(references), len(references)))
            among[first, second] = self.model.distances(references[first], references[second])
            spread = reference_spread(among)
        if rule == "svm":
            score = float(classifier_scores(references, others, query)[0])  # fitted without the lock
        else:
            score = float(claim_scores(to_references[None], rule, spread=spread)[0])
        return ClaimVerification(
            name=name,
            rule=rule,
            score=score,
            threshold=point.threshold,
            accepted=bool(score <= point.threshold),
            references=len(references),
            distances=tuple(float(d) for d in to_references),
            model_id=self.model.model_id,
            reason=point.reason,
        )

    def _others(self, name: str) -> np.ndarray | None:
        """The embeddings of other identities than `name` (the svm rule's negatives): all of
        them, or of `CLASSIFIER_NEGATIVES` identities drawn with a fixed seed in a larger gallery; None when
        there is no other. Two statements, whatever the number of identities."""
        names = [other for other in self.store.names() if other != name]
        if len(names) > CLASSIFIER_NEGATIVES:
            names = sorted(np.random.default_rng(0).choice(names, CLASSIFIER_NEGATIVES, replace=False).tolist())
        others = self.store.vectors_of_many(names)
        return others if len(others) else None

    def forget(self, name: str) -> int:
        """Remove `name` and every embedding of theirs (from the database, and from the index and
        its file: their rows dropped, never a rebuild from the database); the database's free
        pages are scrubbed of them after the lock is let go, so searches go on meanwhile."""
        with self.lock:
            removed = self.store.remove(name)
            if removed and self.index is not None:
                self._fresh_index()
        if removed == 0:
            raise UnknownIdentityError(f"{self.store.path}: no identity named {name!r}")
        self.store.scrub()
        return removed

    def identities(self) -> list[tuple[str, int]]:
        """(name, embeddings) of every enrolled identity."""
        with self.lock:
            return self.store.identities()

    def count(self) -> int:
        """How many identities are enrolled (one cheap query, for `/health`)."""
        with self.lock:
            return self.store.count()

    def close(self) -> None:
        """Save the index if enrolments extended it since it was last written, and close the database.

        Saved only as the database is now: when another process forgot someone this index still
        holds, they are dropped first; and checked again after the write, for a forget in between."""
        with self.lock:
            while self._unsaved:
                self._fresh_index()
                self._save()
                self._unsaved = len(self.store.changes(self.index.ids)[0]) > 0
            self.store.close()
