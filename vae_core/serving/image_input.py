"""One image a user uploads (PNG or JPEG bytes), checked and converted to a model's [C, H, W] input.

Checks happen in the order that keeps a hostile file cheap: empty or oversized bytes, then the
format from the header, then the declared pixel count, and only then is anything decoded.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from vae_core.data.limits import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_UPLOAD_FILE_MB

MB = 1024 * 1024
MAX_IMAGE_BYTES = MAX_UPLOAD_FILE_MB * MB  # the app's upload limit too; decoding is bounded by the pixel caps
IMAGE_FORMATS = ["PNG", "JPEG"]
PREVIEW_SIDE = 256
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
COLOUR_MODES = {"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", *ALPHA_MODES, *SIXTEEN_BIT_MODES}


def _open(data: bytes, name: str) -> Image.Image:
    if len(data) == 0:
        raise ValueError(f"{name}: the file is empty (0 bytes); expected a PNG or JPEG image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{name}: {len(data) / MB:.1f} MB, over the {MAX_IMAGE_BYTES // MB} MB limit for one image")
    try:
        return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise ValueError(
            f"{name}: declares more than {MAX_IMAGE_PIXELS:,} pixels; at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} is allowed"
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        head = data[:64].lstrip()
        looks_text = bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)
        hint = " It looks like a text file renamed to .png or .jpg." if looks_text else ""
        # PIL's "cannot identify image file <_io.BytesIO object at 0x...>" tells a user nothing more.
        detail = "" if isinstance(err, UnidentifiedImageError) else f" ({err})"
        raise ValueError(f"{name}: not a PNG or JPEG image{detail}.{hint}") from None


def _to_rgb_or_grey(image: Image.Image, steps: list[str]) -> Image.Image:
    """An 8-bit 'L' or 'RGB' image; transparency is flattened onto white, as image viewers show it."""
    mode = image.mode
    if mode in SIXTEEN_BIT_MODES:
        # PIL's convert('L') clips 16-bit values at 255 (a white picture), so scale by hand.
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if pixels.max(initial=0) > 255 or mode != "I" else 255.0
        steps.append(f"16-bit grey scaled to 8 bits (mode {mode})")
        return Image.fromarray(np.clip(pixels / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        steps.append("palette colours expanded to RGB" + (" with transparency" if has_alpha else ""))
        mode = image.mode
    if mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        steps.append("transparent pixels filled with white")
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        steps.append("CMYK converted to RGB")
        return image.convert("RGB")
    if mode in ("1", "L"):
        return image.convert("L")
    return image.convert("RGB")


def _fit(image: Image.Image, height: int, width: int, steps: list[str]) -> Image.Image:
    """Centre-crop to the model's aspect ratio, then resize: digits stay undistorted."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    if w * height != h * width:
        steps.append(f"centre-cropped from {w}×{h} to the model's {width}:{height} aspect ratio")
    steps.append(f"resized to {width}×{height} pixels")
    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)


def _preview(image: Image.Image) -> np.ndarray:
    small = image.copy()
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(small.convert("RGB"))


def load_user_image(
    data: bytes, image_shape, name: str = "uploaded image", invert: bool = False
) -> tuple[torch.Tensor, dict]:
    """PNG/JPEG bytes -> (float32 tensor [C, H, W] in [0, 1], info) for a model of `image_shape` [C, H, W].

    info: format, original_size (w, h), original_mode, steps (what was changed, in words),
    preview (uint8 [h, w, 3] of the image before resizing, at most 256 px a side) and
    mean_brightness in [0, 1] of the result (before `invert`). Raises ValueError saying what is wrong.
    """
    c, h, w = (int(s) for s in image_shape)
    if c not in (1, 3):
        raise ValueError(f"image shape: expected 1 (grey) or 3 (RGB) channels, got {c}")
    image = _open(data, name)
    with image:
        width, height = image.size
        # Only the header has been read: refusing here stops a small file expanding to gigabytes.
        if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"{name}: declares {width}×{height} pixels; at most {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} is allowed"
            )
        if width < 1 or height < 1:
            raise ValueError(f"{name}: declares {width}×{height} pixels; expected a non-empty image")
        if image.mode not in COLOUR_MODES:
            raise ValueError(f"{name}: pixel mode {image.mode} is not supported; expected an 8- or 16-bit grey or colour image")
        info = {"format": image.format, "original_size": (width, height), "original_mode": image.mode}
        steps: list[str] = []
        try:
            if _has_rotation(image):
                steps.append("turned upright as its EXIF orientation tag asks")
            oriented = ImageOps.exif_transpose(image)
            flat = _to_rgb_or_grey(oriented, steps)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise ValueError(f"{name}: could not be decoded as a {info['format']} image ({err})") from None
    info["preview"] = _preview(flat)
    if c == 1 and flat.mode != "L":
        steps.append("colour converted to grey")
        flat = flat.convert("L")
    elif c == 3 and flat.mode != "RGB":
        steps.append("grey copied to 3 colour channels")
        flat = flat.convert("RGB")
    flat = _fit(flat, h, w, steps)
    pixels = np.asarray(flat, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(pixels.reshape(h, w, c).copy()).permute(2, 0, 1).contiguous()
    info["mean_brightness"] = float(tensor.mean())
    if invert:
        steps.append("inverted (light ↔ dark)")
        tensor = 1.0 - tensor
    info["steps"] = steps
    return tensor, info


def _has_rotation(image: Image.Image) -> bool:
    try:
        return image.getexif().get(0x0112, 1) not in (1, None)
    except (OSError, SyntaxError, ValueError):
        return False


def suggest_invert(image: torch.Tensor, reference_images: torch.Tensor) -> bool:
    """True when `image` is mostly light but the model's images are mostly dark, or the reverse:
    e.g. ink on paper shown to a model of MNIST's light-on-dark digits."""
    image_light = float(image.float().mean()) >= 0.5
    reference_light = float(reference_images.float().mean()) >= 0.5
    return image_light != reference_light
