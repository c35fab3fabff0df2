"""Framing an image before it is resized: crop to the ink, even out the contrast, keep the aspect.

Signatures are wide, written with pens of any colour on paper of any shade, and sit
anywhere on the page; squeezing a 4:1 signature into a square or letting a grey scan keep
its grey background makes the network learn the scanner, not the hand. These steps are
part of `Preprocessing`, so the model applies them at inference exactly as in training.
"""

from __future__ import annotations

import cv2
import numpy as np

from siamese.data.faces import FaceLog, crop_face


def frame(image: np.ndarray, preprocessing, *, name: str = "image", faces: FaceLog | None = None) -> np.ndarray:
    """The framing steps a `Preprocessing` names, in order: crop, contrast, strokes, padding.

    A face crop is the chip of the largest face at the larger side of `image_size`, its
    landmarks placed on the `face_template` (see `siamese.data.faces`); `faces` records what was found, and says what becomes of an
    image without a face (`FaceLog`); without it, that image raises `NoFaceError`.
    """
    if preprocessing.crop == "ink":
        image = crop_to_ink(image)
    elif preprocessing.crop == "face":
        size = max(preprocessing.image_size)
        image = crop_face(image, size, name=name, log=faces, template=preprocessing.face_template)
    if preprocessing.contrast == "stretch":
        image = stretch_contrast(image)
    elif preprocessing.contrast == "binarize":
        image = binarize(image)
    elif preprocessing.contrast == "equalize":
        image = equalize(image)
    if preprocessing.strokes == "even":
        image = even_strokes(image)
    return pad_to_aspect(image, *preprocessing.image_size) if preprocessing.keep_aspect else image


def _grey(image: np.ndarray) -> np.ndarray:
    return image[:, :, 0] if image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def ink_mask(image: np.ndarray) -> np.ndarray:
    """Pixels that are ink: darker than Otsu's threshold on a light page, lighter on a dark one."""
    grey = _grey(image)
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light_page = np.median(grey) > threshold
    return grey <= threshold if light_page else grey > threshold


def crop_to_ink(image: np.ndarray, *, margin: float = 0.04, speck: float = 2e-4) -> np.ndarray:
    """The box around the ink, with a margin; blots smaller than `speck` of the page (dust,
    scanner noise) do not widen it. Blank pages, and pages that are mostly ink, stay whole."""
    mask = ink_mask(image).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blots = stats[1:][stats[1:, cv2.CC_STAT_AREA] > max(2, speck * mask.size)]
    if len(blots) == 0 or mask.mean() > 0.5:
        return image
    top, left = blots[:, cv2.CC_STAT_TOP].min(), blots[:, cv2.CC_STAT_LEFT].min()
    bottom = (blots[:, cv2.CC_STAT_TOP] + blots[:, cv2.CC_STAT_HEIGHT]).max()
    right = (blots[:, cv2.CC_STAT_LEFT] + blots[:, cv2.CC_STAT_WIDTH]).max()
    pad_y, pad_x = (int(round(margin * n)) + 1 for n in mask.shape)
    return image[
        max(0, top - pad_y) : min(mask.shape[0], bottom + pad_y),
        max(0, left - pad_x) : min(mask.shape[1], right + pad_x),
    ]


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The morphological skeleton of a binary mask (Lantuejoul): what is left of each stroke
    when it is worn down from both sides to a line about a pixel wide."""
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    mask = mask.astype(np.uint8)
    lines = np.zeros_like(mask)
    while mask.any():
        eroded = cv2.erode(mask, cross)
        lines |= mask & ~cv2.dilate(eroded, cross).astype(bool)
        mask = eroded
    return lines


def even_strokes(image: np.ndarray, *, width: float = 0.03) -> np.ndarray:
    """The ink redrawn along its skeleton at one width (`width` of the image's shorter side),
    dark on the page's colour: a fountain pen, a stylus and a fingertip then look alike."""
    mask = ink_mask(image)
    if not mask.any():
        return image
    pen = max(1, int(round(width * min(mask.shape))))
    strokes = cv2.dilate(skeleton(mask), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (pen, pen))).astype(bool)
    grey = _grey(image)
    paper, ink = float(np.median(grey[~mask])) if (~mask).any() else 255.0, float(np.median(grey[mask]))
    out = np.where(strokes, ink, paper).astype(np.uint8)
    return np.repeat(out[:, :, None], image.shape[2], axis=2)


def stretch_contrast(image: np.ndarray, *, low: float = 1.0, high: float = 90.0) -> np.ndarray:
    """Map the darkest ink (percentile `low`) to black and the paper (percentile `high`) to white,
    so a faint pencil and a bold marker, a white and a grey page, look alike."""
    grey = _grey(image).astype(np.float32)
    dark, light = np.percentile(grey, [low, high])
    if light - dark < 1.0:
        return image
    scaled = np.clip((image.astype(np.float32) - dark) * (255.0 / (light - dark)), 0, 255)
    return scaled.round().astype(np.uint8)


def binarize(image: np.ndarray) -> np.ndarray:
    """Ink black and paper white, split at Otsu's threshold (`ink_mask`), as the signature
    literature does: a pen's grey and a scanner's gain, which tell forgers apart from writers
    in some sets and say nothing about the hand, are gone."""
    out = np.where(ink_mask(image), 0, 255).astype(np.uint8)
    return np.repeat(out[:, :, None], image.shape[2], axis=2)


def equalize(image: np.ndarray) -> np.ndarray:
    """Local histogram equalisation (CLAHE) of the brightness, which evens out side lighting on faces."""
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    if image.shape[2] == 1:
        return clahe.apply(image[:, :, 0])[:, :, None]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def pad_to_aspect(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pad (never stretch) to the aspect ratio height:width, centred, with the border's median colour."""
    h, w = image.shape[:2]
    target_w = int(round(h * width / height))
    if target_w >= w:
        pad_y, pad_x = 0, target_w - w
    else:
        pad_y, pad_x = int(round(w * height / width)) - h, 0
    if pad_x <= 0 and pad_y <= 0:
        return image
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    fill = np.median(border, axis=0).astype(np.uint8)
    padded = np.empty((h + pad_y, w + pad_x, image.shape[2]), np.uint8)
    padded[...] = fill
    top, left = pad_y // 2, pad_x // 2
    padded[top : top + h, left : left + w] = image
    return padded
