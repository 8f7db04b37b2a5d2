"""User images in a numpy .npz archive: `x` [N,H,W] or [N,H,W,C], optional integer labels `y` [N]."""
from __future__ import annotations

import math
import os
import zipfile

import numpy as np
import torch

from vae_core.data.dataset import ImageDataset
from vae_core.data.labels import encode_labels
from vae_core.data.limits import MAX_TOTAL_VALUES, check_image_block
from vae_core.data.split import split_dataset

EXPECTED_X = "x shaped [N,H,W] or [N,H,W,C] with C 1 or 3, uint8 0..255 or float in [0, 1]"


def load_npz(path: str, spec: str, seed: int) -> ImageDataset:
    """Images [N, C, H, W]; uint8 and other integers are divided by 255, floats must already lie in [0, 1]."""
    if not os.path.isfile(path):
        raise ValueError(f"npz: file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"npz: {path} is not a .npz archive; expected one written by numpy.savez with {EXPECTED_X}")
    with zipfile.ZipFile(path) as archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        if "x" not in members:
            found = ", ".join(sorted(members)) or "nothing"
            raise ValueError(f"npz: {path} has no array 'x' (found: {found}); expected {EXPECTED_X}")
        # Headers first: object arrays and oversized arrays are refused before anything is decompressed.
        for name in ("x", "y"):
            if name in members:
                _check_header(archive, members[name], path, name)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x = arrays["x"]
            y = arrays["y"] if "y" in arrays.files else None
    except ValueError as err:
        raise ValueError(f"npz: {path} could not be read without unpickling ({err}); expected plain numeric arrays") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"npz: {path} is damaged ({err})") from None
    images = _images(x, path)
    if y is None:
        n = len(images)
        return split_dataset(spec, images, torch.zeros(n, dtype=torch.int64), ["unlabelled"], seed, has_labels=False)
    labels, class_names = _labels(y, len(images), path)
    return split_dataset(spec, images, labels, class_names, seed)


def _check_header(archive: zipfile.ZipFile, member: str, path: str, name: str) -> None:
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version} is not supported")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"npz: {path}: array '{name}' is not a readable .npy array ({err})") from None
    if dtype.hasobject:
        raise ValueError(
            f"npz: {path}: array '{name}' holds Python objects, which would need unpickling and are refused; "
            "expected a plain numeric array"
        )
    if math.prod(shape) > MAX_TOTAL_VALUES:
        raise ValueError(f"npz: {path}: array '{name}' has shape {shape}; at most {MAX_TOTAL_VALUES:,} values fit in memory")


def _images(x: np.ndarray, path: str) -> torch.Tensor:
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] not in (1, 3)):
        raise ValueError(f"npz: {path}: x has shape {x.shape}; expected {EXPECTED_X}")
    if x.size == 0:
        raise ValueError(f"npz: {path}: x is empty (shape {x.shape}); expected {EXPECTED_X}")
    n, h, w = x.shape[:3]
    c = x.shape[3] if x.ndim == 4 else 1
    check_image_block(f"npz {path}", n, c, h, w)
    if x.dtype == np.bool_:
        scaled = x.astype(np.float32)
    elif np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise ValueError(
                f"npz: {path}: x is {x.dtype} with values {x.min()}..{x.max()}; integer pixels must lie in 0..255"
            )
        scaled = x.astype(np.float32) / 255
    elif np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            raise ValueError(f"npz: {path}: x contains NaN or infinite values; expected floats in [0, 1]")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(
                f"npz: {path}: x holds floats from {x.min():g} to {x.max():g}; expected floats in [0, 1] "
                "(divide 0..255 data by 255 or store it as uint8)"
            )
        scaled = x.astype(np.float32)
    else:
        raise ValueError(f"npz: {path}: x has dtype {x.dtype}; expected {EXPECTED_X}")
    images = torch.from_numpy(np.ascontiguousarray(scaled))
    return images.unsqueeze(1) if x.ndim == 3 else images.permute(0, 3, 1, 2).contiguous()


def _labels(y: np.ndarray, n: int, path: str) -> tuple[torch.Tensor, list[str]]:
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"npz: {path}: y has shape {y.shape}; expected one label per image, shape ({n},)")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"npz: {path}: y has dtype {y.dtype}; expected integer class labels")
    return encode_labels(y, f"npz {path} (y)")
