"""User images in a folder: one subfolder per class, holding PNG or JPEG files of one size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from vae_core.data.dataset import ImageDataset
from vae_core.data.limits import MAX_IMAGE_PIXELS, check_image_block
from vae_core.data.split import split_dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_FORMATS = ["PNG", "JPEG"]
# 8-bit modes that convert to RGB without losing meaning; 16-bit and float images are refused.
EIGHT_BIT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"}


def load_image_folder(path: str, spec: str, seed: int) -> ImageDataset:
    """Class names are the sorted subfolder names; images are grey [N,1,H,W] when all are grey, else RGB.

    Hidden entries (names starting with '.') are ignored; any other non-image file is an error.
    """
    files, labels, class_names = _list_images(Path(path))
    first = _read_image(files[0])
    h, w = first.shape[:2]
    check_image_block(f"folder {path}", len(files), 3, h, w)
    pixels = np.empty((len(files), h, w, 3), dtype=np.uint8)
    pixels[0] = first
    for i, file in enumerate(files[1:], start=1):
        image = _read_image(file)
        if image.shape != first.shape:
            raise ValueError(
                f"folder: {file} is {image.shape[1]}×{image.shape[0]} pixels but {files[0]} is {w}×{h}; "
                "all images must share one size"
            )
        pixels[i] = image
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2)
    is_grey = bool((images[:, 0] == images[:, 1]).all() and (images[:, 1] == images[:, 2]).all())
    images = (images[:, :1] if is_grey else images).float().div_(255)
    return split_dataset(spec, images, torch.tensor(labels, dtype=torch.int64), class_names, seed)


def _list_images(root: Path) -> tuple[list[Path], list[int], list[str]]:
    if not root.is_dir():
        raise ValueError(f"folder: {root} is not a folder; expected one subfolder per class holding PNG/JPEG images")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise ValueError(
            f"folder: {root} has no subfolders; expected one subfolder per class holding PNG/JPEG images, "
            f"e.g. {root / 'cat' / '001.png'}"
        )
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        entries = sorted(p for p in class_dir.iterdir() if not p.name.startswith("."))
        if not entries:
            raise ValueError(f"folder: class folder {class_dir} is empty; expected PNG/JPEG images in it")
        for entry in entries:
            if entry.is_dir():
                raise ValueError(f"folder: {entry} is a folder inside a class folder; expected only PNG/JPEG files there")
            files.append(entry)
            labels.append(label)
    return files, labels, [p.name for p in class_dirs]


def _read_image(file: Path) -> np.ndarray:
    """Pixels uint8 [H, W, 3] of one PNG/JPEG, refusing anything else before it is decoded."""
    if file.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"folder: {file} is not a PNG or JPEG file; expected only .png/.jpg/.jpeg images in class folders")
    if file.stat().st_size == 0:
        raise ValueError(f"folder: {file} is empty (0 bytes); expected a PNG or JPEG image")
    try:
        image = Image.open(file, formats=IMAGE_FORMATS)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        detail = "" if isinstance(err, UnidentifiedImageError) else f" ({err})"  # PIL's would repeat the path
        raise ValueError(f"folder: {file} could not be read as a PNG or JPEG image{detail}") from None
    with image:
        w, h = image.size
        # Only the header has been read so far, so a small file cannot expand to gigabytes.
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"folder: {file} declares {w}×{h} pixels; at most {MAX_IMAGE_PIXELS:,} pixels per image are allowed"
            )
        if image.mode not in EIGHT_BIT_MODES:
            raise ValueError(f"folder: {file} has pixel mode {image.mode}; expected an 8-bit grey or colour image")
        try:
            return np.asarray(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise ValueError(f"folder: {file} could not be decoded as a PNG or JPEG image ({err})") from None
