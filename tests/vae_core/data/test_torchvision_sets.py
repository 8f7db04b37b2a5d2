import os
import pickle
import re
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from vae_core.data import load_dataset


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download fails at once, as it would offline; torchvision's own error handling still runs."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_offline_idx_sets_name_the_folder_to_fill(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    with pytest.raises(ValueError) as info:
        load_dataset(name, data_dir=str(tmp_path))
    message = str(info.value)
    assert f"not found in {raw}" in message and "download failed" in message
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "mnist5k, digits, shapes" in message
    assert "\n" not in message


def test_offline_cifar10_names_the_archive_and_folder(tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"Put cifar-10-python.tar.gz (from https://")) as info:
        load_dataset("cifar10", data_dir=str(tmp_path))
    assert str(tmp_path / "cifar-10-batches-py") in str(info.value)
    assert "mnist5k, digits, shapes" in str(info.value)


def test_data_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "from-env"))
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "from-env" / "MNIST" / "raw"))):
        load_dataset("mnist")


def _write_idx(path, array):
    path.write_bytes(struct.pack(f">I{array.ndim}I", 0x0800 | array.ndim, *array.shape) + array.tobytes())


def test_mnist_from_a_filled_folder_keeps_the_official_split(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    ds = load_dataset("mnist", data_dir=str(tmp_path), seed=3)
    assert ds.spec == "mnist" and ds.class_names == [str(d) for d in range(10)]
    assert ds.train_x.shape == (12, 1, 28, 28) and ds.test_x.shape == (5, 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and 0 <= ds.train_x.min() and ds.train_x.max() <= 1
    assert ds.test_y.tolist() == [0, 1, 2, 3, 4] and ds.test_y.dtype == torch.int64


def _cifar_folder(tmp_path, n=4):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        data = np.zeros((n, 3072), dtype=np.uint8)
        data[:, :1024] = 10 * i + 1  # the red plane comes first in each row
        entry = {"batch_label": name, "labels": [i] * n, "data": data, "filenames": ["f.png"] * n}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    return folder


def test_cifar10_from_a_filled_folder(tmp_path):
    _cifar_folder(tmp_path)
    ds = load_dataset("cifar10", data_dir=str(tmp_path))
    assert ds.train_x.shape == (20, 3, 32, 32) and ds.test_x.shape == (4, 3, 32, 32)
    assert ds.class_names[0] == "airplane" and ds.test_y.tolist() == [5] * 4
    assert torch.allclose(ds.train_x[0, 0], torch.tensor(1 / 255)) and (ds.train_x[:, 1:] == 0).all()


class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


def test_cifar10_batch_that_would_run_code_is_refused(tmp_path):
    folder = _cifar_folder(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _RunsCode()}, protocol=2))
    with pytest.raises(ValueError, match="data_batch_3 is not a CIFAR-10 python batch.*refused to load .*getcwd"):
        load_dataset("cifar10", data_dir=str(tmp_path))
