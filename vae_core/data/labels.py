"""Class labels from user files: validated and mapped to 0..K-1."""
from __future__ import annotations

import numpy as np
import torch

MAX_CLASSES = 256


def encode_labels(values: np.ndarray, source: str) -> tuple[torch.Tensor, list[str]]:
    """Map integer class ids to int64 indices 0..K-1; each class is named by its original id."""
    if values.size and values.min() < 0:
        first = int(np.argmax(values < 0))
        raise ValueError(f"{source}: labels must be ≥ 0, found {values[first]} at index {first}")
    classes, index = np.unique(values, return_inverse=True)
    if len(classes) > MAX_CLASSES:
        raise ValueError(
            f"{source}: labels take {len(classes)} different values; expected class ids with at most {MAX_CLASSES} classes"
        )
    return torch.from_numpy(index.reshape(-1).astype(np.int64)), [str(int(c)) for c in classes]
