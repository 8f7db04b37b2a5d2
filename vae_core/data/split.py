"""Deterministic, class-stratified train/test splits."""
from __future__ import annotations

import torch

from vae_core.data.dataset import ImageDataset

TEST_FRACTION = 0.1


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted train and test indices; each class puts round(test_fraction × its size) images in test.

    The seed alone fixes the split (own generator, never the global RNG); at least one image goes to test.
    """
    n = len(labels)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    # A stable sort by label groups each class while keeping the random order inside it.
    by_class = order[torch.sort(labels[order], stable=True).indices]
    counts = torch.bincount(labels)
    starts = torch.cumsum(counts, 0) - counts
    rank_in_class = torch.arange(n) - starts[labels[by_class]]
    n_test = torch.round(counts * test_fraction).long()
    if n_test.sum() == 0:
        n_test[counts.argmax()] = 1
    is_test = rank_in_class < n_test[labels[by_class]]
    return by_class[~is_test].sort().values, by_class[is_test].sort().values


def split_dataset(
    spec: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    class_names: list[str],
    seed: int,
    *,
    has_labels: bool = True,
    factors: torch.Tensor | None = None,
    factor_names: list[str] | None = None,
) -> ImageDataset:
    """Split all images 90/10 by `stratified_split`; indexing copies, so the inputs stay untouched."""
    train, test = stratified_split(labels, TEST_FRACTION, seed)
    return ImageDataset(
        spec=spec,
        train_x=images[train],
        train_y=labels[train],
        test_x=images[test],
        test_y=labels[test],
        class_names=list(class_names),
        has_labels=has_labels,
        factor_names=list(factor_names or []),
        train_factors=None if factors is None else factors[train],
        test_factors=None if factors is None else factors[test],
        seed=seed,
    )
