"""Datasets as in-memory tensors, named by one spec string (see DATASET_SPECS_HELP)."""
from __future__ import annotations

import os

from vae_core.data.builtin import load_digits, load_mnist5k
from vae_core.data.data_dir import resolve_data_dir
from vae_core.data.dataset import ImageDataset, dataset_info
from vae_core.data.idx import load_idx
from vae_core.data.image_folder import load_image_folder
from vae_core.data.npz import load_npz
from vae_core.data.shapes import load_shapes
from vae_core.data.spec import DATASET_SPECS_HELP, DOWNLOADED, DatasetSpec, parse_spec
from vae_core.fields import ConfigError

__all__ = ["DATASET_SPECS_HELP", "DatasetSpec", "ImageDataset", "dataset_info", "load_dataset", "parse_spec", "resolve_data_dir"]

DEFAULT_SPEC = "mnist5k"


def load_dataset(spec: str = DEFAULT_SPEC, data_dir: str | os.PathLike | None = None, seed: int = 0) -> ImageDataset:
    """Load the dataset a spec names, split by `seed`; every call returns fresh tensors the caller may change.

    `data_dir` is only used by the torchvision sets (else $VAE_DATA_DIR, else ./data).
    Bad specs, missing files and malformed data raise ValueError saying what was expected.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ConfigError("seed", f"seed: expected an integer from 0 to 2**63 - 1, got {seed!r}")
    parsed = parse_spec(spec)
    kind, canonical = parsed.kind, parsed.canonical
    if kind == "mnist5k":
        return load_mnist5k(seed)
    if kind == "digits":
        return load_digits(seed)
    if kind == "shapes":
        return load_shapes(parsed.size, parsed.count, seed, canonical)
    if kind in DOWNLOADED:
        # Imported here: torchvision's datasets module is slow to import and only these specs need it.
        from vae_core.data.torchvision_sets import load_torchvision_set

        return load_torchvision_set(kind, data_dir)
    if kind == "idx":
        labels_path = parsed.paths[1] if len(parsed.paths) > 1 else None
        return load_idx(parsed.paths[0], labels_path, canonical, seed)
    if kind == "npz":
        return load_npz(parsed.paths[0], canonical, seed)
    return load_image_folder(parsed.paths[0], canonical, seed)
