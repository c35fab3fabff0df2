"""Face crops for the faces recipe: find the face, level the eyes, cut it out with a margin.

The detector is MTCNN (the `mtcnn` package, MIT licence): its weights come inside the
package, so nothing is downloaded at run time. It runs on TensorFlow, which is loaded on
the first face, and only for models whose preprocessing asks for face crops. An image that
is already a face crop (the face fills most of it, or no face is found in it) is kept whole,
so cropped sets such as Extended Yale B pass through unchanged.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import threading

import cv2
import numpy as np

from siamese.errors import BackendError, ImageError

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()  # one detector for all decoding threads; TensorFlow graphs are not built twice
_ALREADY_CROPPED = 0.35  # a face box covering this share of the image means the image is a face crop


@functools.lru_cache(maxsize=1)
def _detector():
    try:
        from mtcnn import MTCNN
    except ImportError:
        raise ImageError("face crops need the mtcnn package: pip install mtcnn") from None
    # mtcnn builds its networks with tf.keras, which has loaded Keras (data itself never imports it),
    # and reads their outputs back as TensorFlow tensors: any other Keras backend fails inside it.
    backend = sys.modules["keras"].backend.backend() if "keras" in sys.modules else "tensorflow"
    if backend != "tensorflow":
        raise BackendError(
            f"face crops need Keras's tensorflow backend (the MTCNN detector runs on TensorFlow), "
            f"not {backend}: run with KERAS_BACKEND=tensorflow"
        )
    return MTCNN(stages="face_and_landmarks_detection", device="CPU:0")


def find_face(image: np.ndarray, *, longest: int = 480) -> dict | None:
    """The most confident face MTCNN finds in a uint8 (h, w, c) image: its box (x, y, w, h)
    and eye positions; None when there is none.

    The search runs on a copy at most `longest` pixels on its longer side: a face a model
    can recognise is large enough to find there, and a phone photo is searched 10x faster.
    """
    scale = min(1.0, longest / max(image.shape[:2]))
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    with _LOCK:
        try:
            faces = _detector().detect_faces(np.ascontiguousarray(rgb))
        except (ValueError, RuntimeError) as error:  # images too small for its pyramid
            logger.debug("no face search possible: %s", error)
            return None
    faces = [face for face in faces or [] if face["confidence"] >= 0.9]
    if not faces:
        return None
    face = max(faces, key=lambda face: face["confidence"])
    return {
        "box": [v / scale for v in face["box"]],
        "confidence": face["confidence"],
        "keypoints": {name: [v / scale for v in point] for name, point in face["keypoints"].items()},
    }


def crop_face(image: np.ndarray, *, margin: float = 0.15) -> np.ndarray:
    """The face of a uint8 (h, w, c) image, rotated so the eyes are level, with `margin` of
    the face's size around it; the whole image when it is already a face crop."""
    face = find_face(image)
    height, width = image.shape[:2]
    if face is None:
        return image
    x, y, w, h = face["box"]
    if w * h >= _ALREADY_CROPPED * width * height:
        return image
    left_eye, right_eye = (np.asarray(face["keypoints"][k], np.float64) for k in ("left_eye", "right_eye"))
    dx, dy = right_eye - left_eye
    centre = (x + w / 2.0, y + h / 2.0)
    rotation = cv2.getRotationMatrix2D(centre, math.degrees(math.atan2(dy, dx)), 1.0)
    level = cv2.warpAffine(image, rotation, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    level = level.reshape(height, width, image.shape[2])
    half_w, half_h = (1 + 2 * margin) * w / 2.0, (1 + 2 * margin) * h / 2.0
    top, bottom = int(max(0, centre[1] - half_h)), int(min(height, centre[1] + half_h))
    left, right = int(max(0, centre[0] - half_w)), int(min(width, centre[0] + half_w))
    return level[top:bottom, left:right]
