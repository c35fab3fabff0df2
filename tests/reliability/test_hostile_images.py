"""Hostile and odd image files: refused in one line before any harm, in every reader."""

import os
import re
import resource
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

import siamese
from siamese.data import load_images, read_image
from siamese.data.images import MAX_PIXELS, Preprocessing, declared_size, decode_image
from siamese.errors import ImageError
from tests.conftest import REPO


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header that declares width x height pixels, with a few bytes of data (a few hundred bytes on disk)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def bomb(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(50_000, 50_000))
    return path


def test_the_header_gives_the_declared_size_without_decoding():
    assert declared_size(png_declaring(300, 20)) == (300, 20)
    assert declared_size(b"plain text") is None


def test_a_decompression_bomb_is_refused_by_its_header_fast_and_without_memory(bomb):
    start = time.perf_counter()
    with pytest.raises(
        ImageError,
        match=r"bomb.png: declares 2,500,000,000 pixels, more than the 20,000,000 allowed; "
        r"refused before decoding",
    ):
        read_image(bomb)
    assert time.perf_counter() - start < 0.5


def test_just_over_the_limit_names_the_shape_and_within_it_the_check_passes():
    assert MAX_PIXELS == 20_000_000
    with pytest.raises(ImageError, match=r"declares 5000x4001 = 20,005,000 pixels"):
        decode_image(png_declaring(5_000, 4_001), name="big.png")
    with pytest.raises(ImageError) as error:  # within the limit the size passes; the fake pixel data is then refused
        decode_image(png_declaring(5_000, 4_000), name="fake.png")
    assert "declares" not in str(error.value) and "fake.png: " in str(error.value)


def test_a_png_whose_chunk_claims_gigabytes_is_refused_before_opencv_allocates_them():
    """A 2 KB PNG whose IDAT length field says 4 GB: OpenCV 5 would allocate it; the check reads the chunks first."""
    data = bytearray(png_declaring(53, 37))
    idat = data.index(b"IDAT") - 4
    data[idat : idat + 4] = struct.pack(">I", 4_194_306_009)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match="chunky.png: truncated or corrupt PNG"):
        decode_image(bytes(data), name="chunky.png")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB


def bmp_rle(width: int, height: int, header_size: int = 44) -> bytes:
    """A 1,084-byte 8-bit BMP of `width` x `height`, RLE-coded as "end of picture" at once, with a DIB
    header of `header_size` bytes: Pillow reads no size from a header of 44 (or 16) bytes, and
    OpenCV decodes it all the same, to width x height blank pixels (900 MB for 30000 x 30000)."""
    header = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, 8, 1, 2, 2835, 2835, 256, 0)
    header += b"\0" * (header_size - len(header))
    offset = 14 + len(header) + 1024
    return b"BM" + struct.pack("<IHHI", offset + 2, 0, 0, offset) + header + b"\0" * 1024 + b"\x00\x01"


SIDE = 30_000  # 900 M pixels: decoded, the reader's memory would pass 1 GB
UNMEASURED = {  # formats OpenCV decodes whose size Pillow cannot read from their header
    "BMP (DIB header of 44 bytes)": (bmp_rle(SIDE, SIDE), "a BMP whose header does not tell its size"),
    "BMP (DIB header of 16 bytes)": (bmp_rle(SIDE, SIDE, 16), "a BMP whose header does not tell its size"),
    "PAM": (f"P7\nWIDTH {SIDE}\nHEIGHT {SIDE}\nDEPTH 1\nMAXVAL 255\nENDHDR\n".encode() + b"\0" * 64, "a PAM whose"),
    "colour PFM": (f"PF\n{SIDE} {SIDE}\n-1.0\n".encode() + b"\0" * 64, "a PFM whose header"),
    "Radiance HDR": (
        f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {SIDE} +X {SIDE}\n".encode() + b"\0" * 64,
        "a Radiance",
    ),
}
MEASURED = {  # formats Pillow sizes from their header: refused by what they declare
    "BMP (DIB header of 40 bytes)": bmp_rle(SIDE, SIDE, 40),
    "PGM": f"P5\n{SIDE} {SIDE}\n255\n".encode() + b"\0" * 64,
    "grey PFM": f"Pf\n{SIDE} {SIDE}\n-1.0\n".encode() + b"\0" * 64,
    "Sun raster": struct.pack(">8I", 0x59A66A95, SIDE, SIDE, 8, 1000, 2, 0, 0) + b"\0" * 64,
}


def tiff_declaring(width: int, height: int) -> bytes:
    """A little-endian TIFF whose one IFD declares width x height, 8-bit grey, with a few bytes of strip."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 12 * 9 + 4),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 64),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *entry) for entry in entries) + b"\0" * 4
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 64


MEASURED["TIFF"] = tiff_declaring(SIDE, SIDE)
_VP8X = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + (SIDE - 1).to_bytes(3, "little") * 2
MEASURED["WebP (VP8X canvas)"] = b"RIFF" + struct.pack("<I", 4 + len(_VP8X)) + b"WEBP" + _VP8X
MEASURED["JPEG 2000 codestream"] = (
    b"\xff\x4f\xff\x51"
    + struct.pack(">HHIIIIIIIIH", 41, 0, SIDE, SIDE, 0, 0, SIDE, SIDE, 0, 0, 1)
    + b"\x07\x01\x01\xff\xd9"
)


def _grows_by_less_than(mebibytes: int, call) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < mebibytes * 1024  # KiB


@pytest.mark.parametrize("kind", list(UNMEASURED))
def test_an_image_whose_header_does_not_tell_its_size_is_refused_before_decoding(kind):
    data, problem = UNMEASURED[kind]

    def refused():
        with pytest.raises(ImageError, match=f"^odd: {re.escape(problem)}.*refused before decoding$"):
            decode_image(data, name="odd")

    _grows_by_less_than(50, refused)


@pytest.mark.parametrize("kind", list(MEASURED))
def test_kin_whose_header_pillow_reads_are_refused_by_the_size_they_declare(kind):
    def refused():
        with pytest.raises(ImageError, match=f"^odd: declares ({SIDE}x{SIDE} = )?900,000,000 pixels, more than"):
            decode_image(MEASURED[kind], name="odd")

    _grows_by_less_than(50, refused)


def test_every_reader_refuses_it(bomb, shapes_dir):
    model = siamese.load_model("omniglot")
    good = shapes_dir / "lines" / "hline" / "00.png"
    for call in (
        lambda: model.verify(good, bomb),
        lambda: model.embed([good, bomb]),
        lambda: load_images([bomb], Preprocessing(image_size=(16, 16))),
    ):
        with pytest.raises(ImageError, match="bomb.png: declares"):
            call()


PEAK = (  # runs its arguments as a command, then writes the command's peak memory (KiB) on stderr's last line
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


@pytest.mark.parametrize("command", [["test.py", "--image1"], ["-m", "siamese", "verify"]])
def test_the_cli_refuses_an_unmeasurable_bmp_in_one_line_under_1_gb(command, shapes_dir, tmp_path):
    odd = tmp_path / "odd.bmp"
    odd.write_bytes(bmp_rle(SIDE, SIDE))
    good = str(shapes_dir / "lines" / "hline" / "00.png")
    second = ["--image2"] if command[0] == "test.py" else []
    result = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, *command, good, *second, str(odd)],
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    *said, peak = result.stderr.strip().splitlines()
    assert result.returncode == 2 and said == [
        f"siamese: error: {odd}: a BMP whose header does not tell its size; refused before decoding"
    ]
    assert int(peak) < 1024 * 1024, f"peak memory {int(peak) // 1024} MiB"


def test_test_py_answers_a_bomb_with_one_line_and_exit_2(bomb, shapes_dir):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "test.py", "--image1", str(shapes_dir / "lines" / "hline" / "00.png"), "--image2", str(bomb)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"siamese: error: {bomb}: declares 2,500,000,000 pixels, more than the "
        "20,000,000 allowed; refused before decoding (a decompression bomb?)"
    ]


def test_identical_images_are_at_distance_zero_not_minus_zero(shapes_dir, capsys):
    from siamese.cli import main

    image = shapes_dir / "polygons" / "square" / "00.png"
    assert siamese.load_model("omniglot").distance(image, image) == 0.0
    assert main(["verify", str(image), str(image)]) == 0
    assert "distance 0.0000" in capsys.readouterr().out
    keras_model = siamese.load_model(REPO / "models" / "omniglot.keras", engine="keras")
    assert np.signbit(keras_model.distance(image, image)) == np.False_ and keras_model.distance(image, image) == 0.0


def _encoded(image, fmt: str, **options) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _smooth_colour():
    """Gradients and a dark corner block: survives JPEG, and shows which way it was turned."""
    y, x = np.mgrid[0:20, 0:40]
    image = np.dstack([x * 6, y * 12, np.full_like(x, 128)]).astype(np.uint8)
    image[:6, :10] = 10
    return image


COLOUR = _smooth_colour()
GREY16 = (np.random.default_rng(1).random((20, 40)) * 65535).astype(np.uint16)


def _odd_files():
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    frames = [Image.fromarray(COLOUR), Image.fromarray(255 - COLOUR)]
    return {
        "RGBA PNG (alpha dropped)": (_encoded(np.dstack([COLOUR, np.full((20, 40), 90, np.uint8)]), "PNG"), COLOUR, 1),
        "palette PNG": (
            _encoded(Image.fromarray(COLOUR).convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
            COLOUR,
            8,
        ),
        "CMYK JPEG": (_encoded(Image.fromarray(COLOUR).convert("CMYK"), "JPEG", quality=95), COLOUR, 8),
        "EXIF-rotated JPEG (shown upright)": (
            _encoded(COLOUR, "JPEG", quality=95, exif=exif.tobytes()),
            np.rot90(COLOUR, -1),
            8,
        ),
        "animated GIF (first frame)": (_encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), COLOUR, 8),
        "1x1 PNG": (_encoded(np.full((1, 1, 3), 7, np.uint8), "PNG"), np.full((1, 1, 3), 7, np.uint8), 1),
        "2000x30 PNG": (
            _encoded(np.full((30, 2000, 3), 200, np.uint8), "PNG"),
            np.full((30, 2000, 3), 200, np.uint8),
            1,
        ),
    }


@pytest.mark.parametrize("case", list(_odd_files()))
def test_odd_but_valid_images_are_read_as_they_look(case):
    data, expected, tolerance = _odd_files()[case]
    decoded = decode_image(data, name=case, channels=3)
    assert decoded.shape == expected.shape
    assert np.mean(np.abs(decoded.astype(float) - expected)) < tolerance
    assert decode_image(data, name=case, channels=1).shape == (*expected.shape[:2], 1)
    assert (
        Preprocessing(image_size=(16, 16)).input_shape
        == load_images([decoded], Preprocessing(image_size=(16, 16)))[0].shape
    )


def test_a_16_bit_png_keeps_its_brightness():
    decoded = decode_image(_encoded(GREY16, "PNG"), name="deep.png")
    assert decoded.dtype == np.uint8 and np.max(np.abs(decoded[:, :, 0].astype(float) - GREY16 / 257.0)) <= 1.0


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"<!DOCTYPE html><html><body>not a picture</body></html>", "not an image (text)"),
        (_encoded(COLOUR, "JPEG")[:300], "truncated or corrupt JPEG"),
        (_encoded(COLOUR, "PNG")[:-30], "truncated or corrupt PNG"),
    ],
)
def test_files_that_only_look_like_images_are_named(data, problem):
    with pytest.raises(ImageError, match=f"^odd: {re.escape(problem)}$"):
        decode_image(data, name="odd")
