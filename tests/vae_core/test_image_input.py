import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.image_input import load_user_image, suggest_invert


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_grey_png_is_resized_to_the_model_shape():
    image = Image.fromarray(np.tile(np.linspace(0, 255, 56, dtype=np.uint8), (56, 1)), mode="L")
    x, info = load_user_image(encode(image), (1, 28, 28))
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x[0, 0, 0] < 0.1 and x[0, 0, -1] > 0.9  # the ramp survives, left dark, right light
    assert info["original_size"] == (56, 56) and "resized to 28×28 pixels" in info["steps"]
    assert info["preview"].dtype == np.uint8 and info["preview"].shape[-1] == 3


def test_colour_jpeg_becomes_grey_or_rgb():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    grey, info = load_user_image(encode(image, "JPEG"), (1, 8, 8))
    assert grey.shape == (1, 8, 8) and "colour converted to grey" in info["steps"]
    assert any("centre-cropped" in s for s in info["steps"])
    rgb, _ = load_user_image(encode(image, "JPEG"), (3, 8, 8))
    assert rgb.shape == (3, 8, 8) and rgb[0].mean() > 0.9 and rgb[1].mean() < 0.1


def test_text_file_named_png_is_refused():
    with pytest.raises(ValueError, match="not a PNG or JPEG.*text file"):
        load_user_image(b"hello, this is not an image\n", (1, 28, 28), name="digit.png")


def test_empty_file_is_refused():
    with pytest.raises(ValueError, match="empty \\(0 bytes\\)"):
        load_user_image(b"", (1, 28, 28))


def test_other_formats_are_refused():
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        load_user_image(encode(Image.new("L", (8, 8)), "GIF"), (1, 8, 8))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but holds one tiny compressed row: a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(5000, 10), (20000, 20000), (100_000, 100_000)])
def test_declared_size_over_the_cap_is_refused_before_decoding(size):
    with pytest.raises(ValueError, match="declares|more than"):
        load_user_image(_png_header_only(*size), (1, 28, 28))


def test_sixteen_bit_png_is_scaled_not_clipped():
    pixels = np.full((10, 10), 32768, dtype=np.uint16)
    data = encode(Image.fromarray(pixels))
    x, info = load_user_image(data, (1, 10, 10))
    assert abs(float(x.mean()) - 0.5) < 0.01  # clipping would give 1.0
    assert any("16-bit" in s for s in info["steps"])


def test_palette_and_rgba_are_flattened():
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette.putpixel((0, 0), 1)
    x, _ = load_user_image(encode(palette), (1, 8, 8))
    assert x[0, 0, 0] == 1.0 and x[0, 1, 1] == 0.0
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    x, info = load_user_image(encode(rgba), (1, 8, 8))
    assert x.min() == 1.0 and "transparent pixels filled with white" in info["steps"]


def test_cmyk_jpeg_is_converted():
    x, info = load_user_image(encode(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"), (3, 8, 8))
    assert x.shape == (3, 8, 8) and x.mean() > 0.9  # no ink is white
    assert "CMYK converted to RGB" in info["steps"]


def test_exif_rotation_is_applied():
    image = Image.new("L", (20, 10), 0)
    image.paste(255, (0, 0, 10, 10))  # left half white in storage order
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    x, info = load_user_image(encode(image, "JPEG", exif=exif.tobytes()), (1, 20, 10))
    assert info["original_size"] == (20, 10)
    assert any("EXIF" in s for s in info["steps"])
    # Upright the image is 10 wide × 20 tall, with the white half on top.
    assert x[0, :8].mean() > 0.8 and x[0, 12:].mean() < 0.2


def test_invert_flips_brightness():
    white = encode(Image.new("L", (8, 8), 255))
    x, info = load_user_image(white, (1, 8, 8), invert=True)
    assert x.max() == 0.0 and info["mean_brightness"] == 1.0


def test_bad_channel_count_is_refused():
    with pytest.raises(ValueError, match="channels"):
        load_user_image(encode(Image.new("L", (8, 8))), (2, 8, 8))


def test_suggest_invert_when_brightness_is_the_other_way_round():
    dark_digits = torch.zeros(10, 1, 8, 8)
    assert suggest_invert(torch.ones(1, 8, 8), dark_digits)
    assert not suggest_invert(torch.zeros(1, 8, 8), dark_digits)
