"""MNIST, Fashion-MNIST, KMNIST and CIFAR-10 through torchvision, in a local data folder."""
from __future__ import annotations

import codecs
import http.client
import os
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets
from torchvision.datasets import utils as tv_utils

from vae_core.data.data_dir import DATA_DIR_ENV, resolve_data_dir
from vae_core.data.dataset import ImageDataset

OFFLINE_HINT = "or use a dataset that needs no download: mnist5k, digits, shapes"
# What a failed or impossible download raises, from urllib, http.client, tarfile, gzip and torchvision.
_DOWNLOAD_ERRORS = (OSError, RuntimeError, EOFError, http.client.HTTPException, tarfile.TarError, zlib.error)

_IDX_SETS = {
    "mnist": (datasets.MNIST, [str(d) for d in range(10)]),
    "fashion-mnist": (
        datasets.FashionMNIST,
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
    "kmnist": (datasets.KMNIST, ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]),
}
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def load_torchvision_set(name: str, data_dir: str | os.PathLike | None) -> ImageDataset:
    """Official train/test split as in-memory tensors; downloads into the data folder when missing."""
    root = resolve_data_dir(data_dir)
    if name == "cifar10":
        train_x, train_y, test_x, test_y = _cifar10_arrays(root)
        class_names = CIFAR10_CLASSES
    else:
        cls, class_names = _IDX_SETS[name]
        train, test = (_open_idx_set(name, cls, root, train) for train in (True, False))
        # .data is uint8 [N, 28, 28] and .targets int64 [N]; convert in bulk, never item by item.
        train_x, train_y, test_x, test_y = train.data, train.targets, test.data, test.targets
        train_x, test_x = train_x.unsqueeze(1), test_x.unsqueeze(1)
    return ImageDataset(
        spec=name,
        train_x=train_x.float().div_(255),
        train_y=train_y.long(),
        test_x=test_x.float().div_(255),
        test_y=test_y.long(),
        class_names=list(class_names),
    )


def _open_idx_set(name: str, cls: type, root: Path, train: bool):
    folder = root / cls.__name__ / "raw"
    try:
        return cls(str(root), train=train, download=True)
    except _DOWNLOAD_ERRORS as err:
        files = ", ".join(filename for filename, _ in cls.resources)
        raise ValueError(
            f"dataset '{name}': not found in {folder} and the download failed ({_reason(err)}). "
            f"Put {files} (from {cls.mirrors[0]}) in {folder}, "
            f"or point data_dir / ${DATA_DIR_ENV} at a folder that has them, {OFFLINE_HINT}."
        ) from None


def _cifar10_arrays(root: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    cls = datasets.CIFAR10
    folder = root / cls.base_folder
    if not all((folder / filename).is_file() for filename, _ in cls.train_list + cls.test_list):
        try:
            tv_utils.download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)
        except _DOWNLOAD_ERRORS as err:
            raise ValueError(
                f"dataset 'cifar10': not found in {folder} and the download failed ({_reason(err)}). "
                f"Put {cls.filename} (from {cls.url}) in {root}, or its extracted folder {cls.base_folder}/ there, "
                f"or point data_dir / ${DATA_DIR_ENV} at a folder that has them, {OFFLINE_HINT}."
            ) from None
    train = [_read_cifar_batch(folder / filename) for filename, _ in cls.train_list]
    test = [_read_cifar_batch(folder / filename) for filename, _ in cls.test_list]
    return (
        torch.from_numpy(np.concatenate([x for x, _ in train])),
        torch.from_numpy(np.concatenate([y for _, y in train])),
        torch.from_numpy(np.concatenate([x for x, _ in test])),
        torch.from_numpy(np.concatenate([y for _, y in test])),
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] from one pickled CIFAR-10 batch."""
    try:
        with open(path, "rb") as f:
            entry = _ArrayOnlyUnpickler(f, encoding="latin1").load()
        data = np.asarray(entry["data"])
        labels = np.asarray(entry["labels"], dtype=np.int64)
    except (pickle.UnpicklingError, OSError, EOFError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"dataset 'cifar10': {path} is not a CIFAR-10 python batch ({_reason(err)})") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"dataset 'cifar10': {path} holds data {data.dtype} {data.shape} and {len(labels)} labels; "
            "expected uint8 [N, 3072] and N labels"
        )
    # Rows store the red, green and blue planes one after another, so this reshape is already [N, C, H, W].
    return data.reshape(-1, 3, 32, 32), labels


# numpy's array-rebuilding function, found from an array so it works whichever module numpy keeps it in.
_RECONSTRUCT = np.zeros(1).__reduce__()[0]


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds only containers and numpy arrays, so a tampered batch file cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes written by Python 3 at protocol 2
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}") from None


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    # torchvision's MNIST joins one "Tried MIRROR, got: ERROR" per mirror; the last error is enough.
    text = text.rpartition("got: ")[2]
    text = text if len(text) <= 160 else text[:160] + "…"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
