"""User images in the MNIST IDX format (raw or gzipped), with optional labels."""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np
import torch

from vae_core.data.dataset import ImageDataset
from vae_core.data.labels import encode_labels
from vae_core.data.limits import MAX_TOTAL_VALUES, check_image_block
from vae_core.data.split import split_dataset

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions: count, rows, columns
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension: count
GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08


def load_idx(images_path: str, labels_path: str | None, spec: str, seed: int) -> ImageDataset:
    """Images [N, 1, H, W] scaled from 0..255; without labels they are all 0 and `has_labels` is False."""
    pixels = read_idx(images_path, IMAGES_MAGIC, "images")
    n, h, w = pixels.shape
    check_image_block(f"idx images {images_path}", n, 1, h, w)
    images = torch.from_numpy(pixels).unsqueeze(1).float().div_(255)
    if labels_path is None:
        return split_dataset(spec, images, torch.zeros(n, dtype=torch.int64), ["unlabelled"], seed, has_labels=False)
    values = read_idx(labels_path, LABELS_MAGIC, "labels")
    if len(values) != n:
        raise ValueError(
            f"idx: {labels_path} holds {len(values)} labels but {images_path} holds {n} images; expected one label per image"
        )
    labels, class_names = encode_labels(values, f"idx labels {labels_path}")
    return split_dataset(spec, images, labels, class_names, seed)


def read_idx(path: str, magic: int, what: str) -> np.ndarray:
    """The uint8 array of one IDX file, checked against its header (magic, dimensions, byte count)."""
    if not os.path.isfile(path):
        raise ValueError(f"idx: {what} file not found: {path}")
    with open(path, "rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            dims = _read_header(f, path, magic, what)
            expected = math.prod(dims)
            # Read one byte past the declared size to notice trailing data without reading all of it.
            data = f.read(expected + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"idx: {path} is not a readable {'gzip ' if gzipped else ''}IDX file ({err})") from None
    if len(data) < expected:
        raise ValueError(
            f"idx: {path} is truncated: its header declares {' × '.join(map(str, dims))} = {expected:,} bytes "
            f"of {what} but only {len(data):,} follow"
        )
    if len(data) > expected:
        raise ValueError(
            f"idx: {path} has data past the {' × '.join(map(str, dims))} {what} its header declares; "
            "expected the file to end there"
        )
    # Copied so the array is writable (bytes are not), which torch.from_numpy expects.
    return np.frombuffer(data, dtype=np.uint8, count=expected).reshape(dims).copy()


def _read_header(f, path: str, magic: int, what: str) -> tuple[int, ...]:
    ndim = magic & 0xFF
    expected = f"magic number 0x{magic:08X} (unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(f"idx: {path} is too short for an IDX header; expected {expected}")
    found = int.from_bytes(head, "big")
    if found != magic:
        hint = ""
        if found == LABELS_MAGIC and what == "images":
            hint = "; this looks like a labels file: write idx:IMAGES,LABELS with the images first"
        elif found == IMAGES_MAGIC and what == "labels":
            hint = "; this looks like an images file: write idx:IMAGES,LABELS with the labels second"
        elif head[:2] != b"\x00\x00":
            hint = "; this is not an IDX file"
        elif head[2] != UBYTE:
            hint = f"; data type 0x{head[2]:02X} is not supported, only unsigned bytes (0x08)"
        else:
            hint = f"; it declares {head[3]} dimension(s)"
        raise ValueError(f"idx: {path} ({what}) has magic number 0x{found:08X}, expected {expected}{hint}")
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"idx: {path} is truncated inside its header ({ndim} dimension sizes expected)")
    dims = struct.unpack(f">{ndim}I", raw)
    if math.prod(dims) > MAX_TOTAL_VALUES:
        raise ValueError(
            f"idx: {path} declares {' × '.join(map(str, dims))} {what}; at most {MAX_TOTAL_VALUES:,} values fit in memory"
        )
    return dims
