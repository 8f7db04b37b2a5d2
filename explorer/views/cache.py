"""The one way a view is shared between sessions: st.cache_resource keyed by the run and the dataset it shows.

A run is named by its folder and the hash of its weights, a dataset by its spec, split seed, image
shape and sizes: a few strings and ints, so a cache hit on every rerun of every session costs next
to nothing. Results are shared read-only: a caller copies before it edits.
"""
from __future__ import annotations

import streamlit as st

from vae_core.data import ImageDataset
from vae_core.runs.checkpoint import Run


def run_identity(run: Run) -> tuple[str, str]:
    """What names a loaded run in a cache key: its folder and its weights' sha256."""
    return (str(run.path), run.weights_sha256)


def dataset_identity(dataset: ImageDataset) -> tuple:
    """What names a loaded dataset in a cache key: spec and split seed, image shape, train and test sizes."""
    return (dataset.spec, dataset.seed, dataset.image_shape, len(dataset.train_x), len(dataset.test_x))


HASH_FUNCS = {Run: run_identity, ImageDataset: dataset_identity}


def shared_result(max_entries: int, show_spinner: bool | str = False):
    """st.cache_resource that keys a Run and an ImageDataset argument by what they are (see HASH_FUNCS)."""
    return st.cache_resource(max_entries=max_entries, show_spinner=show_spinner, hash_funcs=HASH_FUNCS)
