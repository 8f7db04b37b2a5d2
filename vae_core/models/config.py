"""ModelConfig: everything needed to rebuild a model, as JSON-safe fields."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

KINDS = ("vae", "ae")
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned")
CONV_SIZES = (28, 32, 64)
MAX_LATENT_DIM = 128


@dataclass
class ModelConfig:
    """A VAE or AE. `c` is the fixed decoder variance of the Gaussian likelihood (start value
    for 'gaussian-learned'); it is unused for 'bernoulli'."""

    kind: str = "vae"
    arch: str = "mlp"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 2
    hidden_sizes: tuple[int, ...] = (512, 256)
    conv_channels: tuple[int, ...] = (32, 64)
    likelihood: str = "bernoulli"
    c: float = 1.0

    def __post_init__(self) -> None:
        self.image_shape = tuple(self.image_shape)
        self.hidden_sizes = tuple(self.hidden_sizes)
        self.conv_channels = tuple(self.conv_channels)
        validate_model_config(self)

    @property
    def n_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("image_shape", "hidden_sizes", "conv_channels"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: object) -> "ModelConfig":
        """Build from parsed JSON; unknown fields or wrong types raise ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"model config: expected a JSON object, got {type(data).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"model config: unknown field(s) {unknown}; expected only {sorted(known)}")
        checked = {}
        for name, value in data.items():
            checked[name] = _check_field_type(name, value)
        return cls(**checked)


def _check_field_type(name: str, value: object) -> object:
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if name in ("kind", "arch", "likelihood"):
        if not isinstance(value, str):
            raise ValueError(f"model config field '{name}': expected a string, got {value!r}")
    elif name == "latent_dim":
        if not is_int(value):
            raise ValueError(f"model config field 'latent_dim': expected an integer, got {value!r}")
    elif name == "c":
        if not (is_int(value) or isinstance(value, float)):
            raise ValueError(f"model config field 'c': expected a number, got {value!r}")
        value = float(value)
    elif name in ("image_shape", "hidden_sizes", "conv_channels"):
        if not isinstance(value, (list, tuple)) or not all(is_int(v) for v in value):
            raise ValueError(f"model config field '{name}': expected a list of integers, got {value!r}")
    return value


def validate_model_config(cfg: ModelConfig) -> None:
    """Raise ValueError naming the field when a value cannot build a model."""
    if cfg.kind not in KINDS:
        raise ValueError(f"model kind: expected one of {KINDS}, got {cfg.kind!r}")
    if cfg.arch not in ARCHS:
        raise ValueError(f"architecture: expected one of {ARCHS}, got {cfg.arch!r}")
    if cfg.likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood: expected one of {LIKELIHOODS}, got {cfg.likelihood!r}")
    if not (1 <= cfg.latent_dim <= MAX_LATENT_DIM):
        raise ValueError(f"latent dimension: expected an integer from 1 to {MAX_LATENT_DIM}, got {cfg.latent_dim}")
    if len(cfg.image_shape) != 3 or any(s < 1 for s in cfg.image_shape):
        raise ValueError(f"image shape: expected [channels, height, width] of positive sizes, got {list(cfg.image_shape)}")
    if cfg.image_shape[0] not in (1, 3):
        raise ValueError(f"image channels: expected 1 (grey) or 3 (RGB), got {cfg.image_shape[0]}")
    if not (isinstance(cfg.c, float) and math.isfinite(cfg.c) and cfg.c > 0):
        raise ValueError(f"decoder variance c: expected a positive number, got {cfg.c!r}")
    if any(h < 1 or h > 8192 for h in cfg.hidden_sizes):
        raise ValueError(f"hidden sizes: expected integers from 1 to 8192, got {list(cfg.hidden_sizes)}")
    if cfg.arch == "mlp" and not cfg.hidden_sizes:
        raise ValueError("hidden sizes: the mlp architecture needs at least one hidden layer")
    if cfg.arch == "conv":
        _, h, w = cfg.image_shape
        if h != w or h not in CONV_SIZES:
            raise ValueError(f"conv architecture: expected square images of size {CONV_SIZES}, got {h}×{w}")
        if not cfg.conv_channels or any(c < 1 or c > 1024 for c in cfg.conv_channels):
            raise ValueError(f"conv channels: expected 1 to 5 integers from 1 to 1024, got {list(cfg.conv_channels)}")
        if len(cfg.conv_channels) > 5 or h // 2 ** len(cfg.conv_channels) < 1:
            raise ValueError(f"conv channels: {len(cfg.conv_channels)} stride-2 layers shrink a {h}×{h} image below 1 pixel")
