"""The in-memory dataset every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ImageDataset:
    """Images as float32 [N, C, H, W] in [0, 1], labels as int64 [N], split into train and test.

    Unlabelled data gets all-zero labels and `class_names == ["unlabelled"]`, `has_labels=False`.
    `train_factors`/`test_factors` hold ground-truth generative factors [N, F] (float32) when the
    dataset has them (only `shapes`), named by `factor_names`. `seed` is the seed of the train/test
    split (None for a fixed, official split): with `spec` it names the data.
    """

    spec: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]
    has_labels: bool = True
    factor_names: list[str] = field(default_factory=list)
    train_factors: torch.Tensor | None = None
    test_factors: torch.Tensor | None = None
    seed: int | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.train_x.shape[1:]
        return (int(c), int(h), int(w))

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels of 'train', 'test' or 'all' (train then test)."""
        if name == "train":
            return self.train_x, self.train_y
        if name == "test":
            return self.test_x, self.test_y
        if name == "all":
            return torch.cat([self.train_x, self.test_x]), torch.cat([self.train_y, self.test_y])
        raise ValueError(f"split: expected 'train', 'test' or 'all', got {name!r}")


def dataset_info(ds: ImageDataset, seed: int) -> dict:
    """What a run's config.json records to reload the same data: spec, seed, [C, H, W], class names."""
    return {
        "spec": ds.spec,
        "seed": int(seed),
        "image_shape": list(ds.image_shape),
        "class_names": list(ds.class_names),
    }
