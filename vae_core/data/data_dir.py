"""Where the downloaded datasets (mnist, fashion-mnist, kmnist, cifar10) live on disk."""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "VAE_DATA_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The argument, else $VAE_DATA_DIR, else ./data, as an absolute path."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser().resolve()
