import io

import numpy as np
import pytest
import torch
from PIL import Image

from tests.hostile_files import IMAGE_CONVERSIONS, IMAGE_FAULTS, expected_model_input, png_declaring
from vae_core.serving.image_input import load_user_image, suggest_invert


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


@pytest.mark.parametrize("case", IMAGE_FAULTS, ids=IMAGE_FAULTS.keys())
def test_bad_image_is_refused_with_its_name(case):
    name, data, message = IMAGE_FAULTS[case]
    with pytest.raises(ValueError, match=message) as refused:
        load_user_image(data, (1, 28, 28), name=name)
    assert "\n" not in str(refused.value)


def test_a_decompression_bomb_is_small_on_disk():
    assert len(IMAGE_FAULTS["bomb-20000x20000"][1]) < 1000


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("conversion", IMAGE_CONVERSIONS, ids=lambda c: c.id)
def test_odd_modes_become_the_pixels_a_viewer_shows(conversion, channels):
    """16-bit scaled (not clipped), palettes expanded, transparency on white, CMYK to RGB, EXIF upright."""
    x, info = load_user_image(conversion.data, (channels, 8, 8), name=conversion.name)
    assert (x - expected_model_input(conversion.shown, channels)).abs().max() <= conversion.tolerance
    assert not conversion.step or any(step.startswith(conversion.step) for step in info["steps"])


@pytest.mark.parametrize("size", [(5000, 10), (20000, 20000), (100_000, 100_000)])
def test_declared_size_over_the_cap_is_refused_before_decoding(size):
    with pytest.raises(ValueError, match="declares|more than"):
        load_user_image(png_declaring(*size), (1, 28, 28))


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
