"""Face chips: find the faces, take the largest, find its 5 landmarks, align it to a template.

Two templates take the same landmarks: dlib's chip (below) for dlib's ResNet, and the
112x112 five-point frame of ArcFace-like towers ("arcface", `ARCFACE_TEMPLATE`) for
MobileFaceNet: the least-squares similarity transform of the 5 landmarks onto it and one
bilinear warp (`align_to_template`). `Preprocessing.face_template` names the one a model reads.

A face-trained tower sees faces the way it was trained on them: dlib's face recognition
ResNet was trained on 150x150 chips cut by `dlib.get_face_chip(image, shape, size=150,
padding=0.25)`, so a chip cut any other way costs it accuracy. The chip here is that one,
computed with numpy and OpenCV from dlib's landmarks: the similarity transform (Umeyama's
least squares) that takes the 5 landmarks to dlib's 5-point template, the chip's corners
mapped as dlib maps them (its rectangle is one pixel narrower than the scale says), the
same half-octave pyramid when the face is more than twice the chip's size, bilinear
sampling rounded down as dlib rounds, and black where the chip reaches past the photo. On
847 CelebA photos, given the same landmarks, it is dlib's chip to within one grey level (6
values in a million off by that one), and the descriptors of dlib's ResNet on both chips
have a cosine of 0.99999998 at worst (benchmarks/face_alignment.py).

The detector is dlib's HOG face detector and the landmarks its 5-point shape predictor
(dlib-bin: no compiler, no TensorFlow). Chosen for accuracy, then speed, then weight, against
MTCNN, which it replaces (benchmarks/face_alignment.py, photos of ../shared/data): faces
found in 99.3% of 853 CelebA photos (MTCNN 99.4%), 98.2% of 164 Yale photos (MTCNN 100%),
and in a quarter of tight Extended Yale B crops (MTCNN in fewer: there the whole crop is taken as the face's box);
the verification EER of dlib's ResNet on 4,088 CelebA pairs is 0.0411 through this crop and
through dlib's own pipeline alike. Per photo (detect, landmarks, chip; one run on the 2-core
host): 8 ms on the 160-pixel CelebA photos, as for dlib's pipeline as `face_recognition`
runs it (its detector upsampled once, on the whole photo); 31 ms against 354 on Yale's
photos enlarged to 1280x972 (160 faces found against 161), because photos under
`SMALL_SIDE` pixels are searched at twice their size, larger ones as they are, and those
over `SEARCH_SIDE` on a smaller copy. `SMALL_SIDE` is 400, above Yale's 320x243: searched
as they are (7 ms against 22), their faces were found but their landmarks were placed
less well, and the verification AUC on Yale's test people was 0.991 against 0.9998 searched
at twice their size (`benchmarks/faces.py`). MTCNN took 110-190 ms a photo
(in a busier run). Its landmarks are those dlib's template is defined on, and it needs
neither TensorFlow nor Keras. OpenCV's YuNet (`cv2.FaceDetectorYN`) was not measured: its
model is not in OpenCV's wheel, so it would be one more file to ship, and its landmarks are
not dlib's. dlib is the optional extra `siamese[faces]`, imported on the first face only.

The detector is shipped as a file beside this module (155 KB, dlib's frontal face detector
saved in dlib's binary format, Boost Software License: see frontal_face_detector.LICENSE),
because building it from the copy compiled into dlib parses text for most of a second,
longer than a cold verification may take. The 5-point shape predictor (9 MB, CC0 by dlib's
author) is read from the `face_recognition_models` package, which the extra installs: it
keeps 9 MB out of the wheel of every user who never crops a face, and carries its own
licence. The package is found, not imported (its `__init__` loads pkg_resources).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.resources
import importlib.util
import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from siamese.errors import ImageError, NoFaceError

logger = logging.getLogger(__name__)

INSTALL = "pip install 'siamese[faces]'"
PADDING = 0.25  # the margin around the template, as a share of it: dlib's default for its face chips
SEARCH_SIDE = 640  # faces are searched on a copy whose longer side is at most this many pixels
SMALL_SIDE = (
    400  # a photo smaller than this is searched at twice its size (dlib's detector sees faces of 80 pixels and more)
)
# dlib's 5-point template (get_face_chip_details): the outer and inner corner of the right
# eye, of the left eye, then the base of the nose, as a share of the face's box.
TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)

# The 112x112 five-point frame of ArcFace-like towers (MobileFaceNet, `faces-mobilefacenet`), in
# dlib's landmark order, as a share of the chip: fitted on LFW-like photos from dlib's 68
# landmarks so that the chip matches ArcFace's template (../shared/models/mobilefacenet/README.md).
ARCFACE_TEMPLATE = np.array([[80.41, 52.66], [66.59, 53.07], [31.29, 52.94], [45.17, 53.19], [56.02, 79.75]]) / 112.0

_THREAD = threading.local()  # a detector per thread: dlib's keeps its image pyramid in itself while it searches


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in an image: its box (left, top, width, height) and 5 landmarks (x, y)
    in the image's pixels, in dlib's order (see `TEMPLATE`)."""

    box: tuple
    landmarks: tuple

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def to_dict(self) -> dict:
        return {"box": list(self.box), "landmarks": [list(point) for point in self.landmarks]}


@functools.lru_cache(maxsize=1)
def _dlib():
    try:
        import dlib
    except ImportError:
        raise ImageError(f"face detection needs dlib: {INSTALL}") from None
    return dlib


def landmarks_model() -> Path:
    """The 5-point shape predictor of the `face_recognition_models` package, found without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImageError(f"face landmarks need the face_recognition_models package: {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "shape_predictor_5_face_landmarks.dat"
    if not path.is_file():
        raise ImageError(f"{path}: missing from face_recognition_models; reinstall it ({INSTALL})")
    return path


def _detector():
    """This thread's face detector (150 KB, loaded in a millisecond), made on its first face: threads
    search at once (dlib lets go of the GIL), where one detector behind a lock made them take turns."""
    detector = getattr(_THREAD, "detector", None)
    if detector is None:
        dlib = _dlib()
        shipped = importlib.resources.files("siamese.data") / "frontal_face_detector.svm"
        try:
            detector = dlib.fhog_object_detector(str(shipped))
        except RuntimeError as error:  # a dlib whose serialisation changed: build it from dlib's own copy
            logger.info("%s: %s; using dlib's built-in detector", shipped, error)
            detector = dlib.get_frontal_face_detector()
        _THREAD.detector = detector
    return detector


@functools.lru_cache(maxsize=1)
def _predictor():
    """The landmarks' shape predictor, one for every thread (it reads itself only), loaded on the first face."""
    return _dlib().shape_predictor(str(landmarks_model()))


def find_faces(image: np.ndarray) -> list[Face]:
    """The faces in a uint8 (h, w, c) image, largest first; [] when there is none.

    Faces are searched on a copy at most `SEARCH_SIDE` pixels on its longer side (a phone
    photo is searched 20x faster, and a face too small to find there is too small to
    recognise), and at twice the size of a photo smaller than `SMALL_SIDE`; the landmarks
    are found on the image itself.
    """
    grey = image[:, :, 0] if image.shape[2] == 1 else image
    longest = max(image.shape[:2])
    scale = min(1.0, SEARCH_SIDE / longest)
    search = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    upsample = 1 if longest < SMALL_SIDE else 0
    dlib, predictor = _dlib(), _predictor()
    faces = []
    for box in _detector()(np.ascontiguousarray(search), upsample):
        left, top = round(box.left() / scale), round(box.top() / scale)
        right, bottom = round(box.right() / scale), round(box.bottom() / scale)
        shape = predictor(np.ascontiguousarray(grey), dlib.rectangle(left, top, right, bottom))
        landmarks = tuple((float(p.x), float(p.y)) for p in shape.parts())
        faces.append(Face(box=(left, top, right - left + 1, bottom - top + 1), landmarks=landmarks))
    return sorted(faces, key=lambda face: -face.area)


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform (rotation, one scale, shift) taking the points `source` (n, 2)
    closest to `target` (n, 2) in least squares (Umeyama 1991; dlib's find_similarity_transform)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - source_mean, target - target_mean
    u, s, vt = np.linalg.svd(dst.T @ src / len(source))
    d = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / (src**2).sum(axis=1).mean()
    return np.hstack([scale * rotation, (target_mean - scale * rotation @ source_mean)[:, None]])


def _point_down(points: np.ndarray) -> np.ndarray:
    """Where points of an image lie in the next level of dlib's pyramid (pyramid_down<2>)."""
    return points / 2.0 - np.array([1.25, 0.75])


def _pyramid_down(image: np.ndarray) -> np.ndarray:
    """dlib's pyramid_down<2>: a 5x5 binomial filter (1 4 6 4 1), every second pixel kept,
    the sum divided by 256 and rounded down."""
    wide = image.astype(np.int32)
    columns, rows = (image.shape[1] - 3) // 2, (image.shape[0] - 3) // 2
    taps = (1, 4, 6, 4, 1)
    across = sum(t * wide[:, k : k + 2 * columns : 2] for k, t in enumerate(taps))
    down = sum(t * across[k : k + 2 * rows : 2] for k, t in enumerate(taps))
    return (down // 256).astype(np.uint8)


def align_face(image: np.ndarray, landmarks, size: int = 150, *, padding: float = PADDING) -> np.ndarray:
    """The (size, size, c) chip of the face with these 5 landmarks, as `dlib.get_face_chip` cuts it."""
    chip_points = (padding + TEMPLATE) / (2 * padding + 1) * size
    transform = similarity(chip_points, np.asarray(landmarks, np.float64))
    # dlib's chip_details: the angle and scale of the transform, and a rectangle about the
    # image of the chip's centre whose corners the chip's corner pixels are mapped to.
    angle = np.arctan2(transform[1, 0], transform[0, 0])
    scale = np.hypot(transform[0, 0], transform[1, 0])
    centre = transform[:, :2] @ np.array([size / 2.0, size / 2.0]) + transform[:, 2]
    half = (scale * size - 1) / 2.0
    corners = np.array([centre - half, centre + half])  # top left, bottom right

    # The pyramid level dlib samples from: the deepest whose rectangle still holds more pixels than the chip.
    depth, level = 0, corners
    while np.prod(np.diff(_point_down(level), axis=0) + 1) > size * size:
        level, depth = _point_down(level), depth + 1
    grow = 2.0
    for _ in range(depth):
        grow = grow * 2 + 2
    # dlib cuts the rotated rectangle's bounding box (grown by `grow`, rounded) out of the image first.
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    box = np.array([[corners[0, 0], corners[0, 1]], [corners[1, 0], corners[0, 1]], [corners[0, 0], corners[1, 1]]])
    box = np.vstack([box, corners[1]])
    turned = (box - centre) @ rotation.T + centre
    height, width = image.shape[:2]
    low = np.maximum(np.floor(turned.min(axis=0) - grow + 0.5), 0).astype(int)
    high = np.minimum(np.floor(turned.max(axis=0) + grow + 0.5), [width - 1, height - 1]).astype(int)
    source = image[low[1] : high[1] + 1, low[0] : high[0] + 1]
    rectangle = corners - low
    for _ in range(depth):
        source, rectangle = _pyramid_down(source), _point_down(rectangle)
    middle = rectangle.mean(axis=0)
    span = rectangle[1] - rectangle[0]
    # chip (0, 0), (size-1, 0), (0, size-1) -> the rectangle's rotated corners
    step = span / (size - 1)
    matrix = np.hstack([rotation * step, (middle + rotation @ (rectangle[0] - middle))[:, None]])
    chip = cv2.warpAffine(
        source.astype(np.float32),
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    # dlib leaves black every chip pixel whose 2x2 neighbourhood is not wholly inside the image
    # (OpenCV would blend the edge pixels with the black border instead).
    u, v = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    x, y = (matrix[i, 0] * u + matrix[i, 1] * v + matrix[i, 2] for i in (0, 1))
    chip[~((x >= 0) & (y >= 0) & (x < source.shape[1] - 1) & (y < source.shape[0] - 1))] = 0
    return np.floor(chip).astype(np.uint8).reshape(size, size, image.shape[2])


def align_to_template(image: np.ndarray, landmarks, size: int = 112) -> np.ndarray:
    """The (size, size, c) chip of the face with these 5 landmarks placed on `ARCFACE_TEMPLATE`
    (scaled to `size`): the least-squares similarity transform, bilinear, black outside the photo."""
    matrix = similarity(np.asarray(landmarks, np.float64), ARCFACE_TEMPLATE * size)
    chip = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return chip.reshape(size, size, image.shape[2])


def cut_chip(image: np.ndarray, landmarks, size: int, template: str = "dlib") -> np.ndarray:
    """The chip of the face with these landmarks on `template` ("dlib": `align_face`,
    "arcface": `align_to_template`): one set of landmarks, either frame."""
    return align_to_template(image, landmarks, size) if template == "arcface" else align_face(image, landmarks, size)


class FaceLog:
    """What the face step found in each image of one piece of work; shared by the decoding threads.

    Args:
        keep_faceless: batch work (evaluate, embed, enrolling many) passes True: an image in
            which no face is found is named in a warning, taken whole as the face (aligned by
            the landmarks found in it) and counted in `faceless`, so one photo never ends a run
            of thousands. False: it
            raises `NoFaceError`, as an image without a log does.

    `found` maps each image's name (its path, or "image N" for arrays) to its faces, largest first.
    """

    def __init__(self, *, keep_faceless: bool = True):
        self.keep_faceless = keep_faceless
        self.found: dict[str, list[Face]] = {}
        self.faceless: list[str] = []
        self._lock = threading.Lock()

    def keeping(self, keep_faceless: bool) -> FaceLog:
        """This log, recording into the same `found` and `faceless`, with `keep_faceless` as given."""
        if keep_faceless == self.keep_faceless:
            return self
        view = copy.copy(self)  # shares found, faceless and the lock
        view.keep_faceless = keep_faceless
        return view

    def record(self, name: str, faces: list[Face]) -> None:
        with self._lock:
            self.found[name] = faces
            if not faces:
                self.faceless.append(name)

    def describe(self, name: str) -> dict:
        """How many faces the image `name` holds and their boxes (left, top, width, height), largest (the one used) first."""
        faces = self.found.get(name, [])
        return {"faces": len(faces), "boxes": [list(face.box) for face in faces]}


def whole_image_face(image: np.ndarray) -> Face:
    """The whole image taken as the face's box, with the 5 landmarks found inside it: what a
    photo in which the detector finds no face (a tight crop, harsh side light) is aligned by,
    as dlib's pipeline aligns a face whose box it is given."""
    dlib = _dlib()
    height, width = image.shape[:2]
    grey = image[:, :, 0] if image.shape[2] == 1 else image
    shape = _predictor()(np.ascontiguousarray(grey), dlib.rectangle(0, 0, width - 1, height - 1))
    return Face(box=(0, 0, width, height), landmarks=tuple((float(p.x), float(p.y)) for p in shape.parts()))


def crop_face(
    image: np.ndarray, size: int, *, name: str = "image", log: FaceLog | None = None, template: str = "dlib"
) -> np.ndarray:
    """The (size, size, c) chip of the largest face in a uint8 (h, w, c) image, its landmarks
    placed on `template` (`cut_chip`).

    No face: `NoFaceError` naming the image, or, where `log` keeps faceless images, the
    chip of the whole image taken as the face (`whole_image_face`), with a warning.
    """
    faces = find_faces(image)
    if log is not None:
        log.record(name, faces)
    if faces:
        return cut_chip(image, faces[0].landmarks, size, template)
    if log is None or not log.keep_faceless:
        raise NoFaceError(f"{name}: no face found (for images that are already face chips: --no-detect, detect=False)")
    logger.warning("%s: no face found; the whole image taken as the face", name)
    return cut_chip(image, whole_image_face(image).landmarks, size, template)
