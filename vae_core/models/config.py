"""ModelConfig: everything needed to rebuild a model, as JSON-safe fields."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from vae_core.fields import ConfigError, is_int

KINDS = ("vae", "ae", "cvae")
CONDITIONAL_KINDS = ("cvae",)
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned")
CONV_SIZES = (28, 32, 64)
MAX_LATENT_DIM = 128
MAX_CLASSES = 1000


@dataclass
class ModelConfig:
    """A VAE, AE or conditional VAE. `c` is the fixed decoder variance of the Gaussian likelihood
    (start value for 'gaussian-learned'); it is unused for 'bernoulli'. `num_classes` is the number of
    labels a 'cvae' conditions on (≥ 2); it is 0 for the unconditional kinds."""

    kind: str = "vae"
    arch: str = "mlp"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 2
    hidden_sizes: tuple[int, ...] = (512, 256)
    conv_channels: tuple[int, ...] = (32, 64)
    likelihood: str = "bernoulli"
    c: float = 1.0
    num_classes: int = 0

    def __post_init__(self) -> None:
        self.image_shape = tuple(self.image_shape)
        self.hidden_sizes = tuple(self.hidden_sizes)
        self.conv_channels = tuple(self.conv_channels)
        validate_model_config(self)

    @property
    def n_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    @property
    def is_variational(self) -> bool:
        """True when the model has a posterior q(z|x) and a prior, so a KL term and an ELBO (not an AE)."""
        return self.kind != "ae"

    @property
    def is_conditional(self) -> bool:
        """True when encoder and decoder also read the class label y (q(z|x, y), p(x|z, y))."""
        return self.kind in CONDITIONAL_KINDS

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
    if name in ("kind", "arch", "likelihood"):
        if not isinstance(value, str):
            raise ConfigError(name, f"model config field '{name}': expected a string, got {value!r}")
    elif name in ("latent_dim", "num_classes"):
        if not is_int(value):
            raise ConfigError(name, f"model config field '{name}': expected an integer, got {value!r}")
    elif name == "c":
        if not (is_int(value) or isinstance(value, float)):
            raise ConfigError("c", f"model config field 'c': expected a number, got {value!r}")
        value = float(value)
    elif name in ("image_shape", "hidden_sizes", "conv_channels"):
        if not isinstance(value, (list, tuple)) or not all(is_int(v) for v in value):
            raise ConfigError(name, f"model config field '{name}': expected a list of integers, got {value!r}")
    return value


def validate_model_config(cfg: ModelConfig) -> None:
    """Raise ConfigError (a ValueError) naming the field when a value cannot build a model."""
    if cfg.kind not in KINDS:
        raise ConfigError("kind", f"model kind: expected one of {KINDS}, got {cfg.kind!r}")
    if cfg.arch not in ARCHS:
        raise ConfigError("arch", f"architecture: expected one of {ARCHS}, got {cfg.arch!r}")
    if cfg.likelihood not in LIKELIHOODS:
        raise ConfigError("likelihood", f"likelihood: expected one of {LIKELIHOODS}, got {cfg.likelihood!r}")
    if cfg.kind in CONDITIONAL_KINDS and not (is_int(cfg.num_classes) and 2 <= cfg.num_classes <= MAX_CLASSES):
        raise ConfigError("num_classes", f"number of classes: a conditional VAE needs an integer from 2 to {MAX_CLASSES}, "
                                         f"got {cfg.num_classes!r}")
    if cfg.kind not in CONDITIONAL_KINDS and cfg.num_classes != 0:
        raise ConfigError("num_classes", f"number of classes: only a 'cvae' conditions on labels; a {cfg.kind!r} takes 0, got {cfg.num_classes!r}")
    if not (1 <= cfg.latent_dim <= MAX_LATENT_DIM):
        raise ConfigError("latent_dim", f"latent dimension: expected an integer from 1 to {MAX_LATENT_DIM}, got {cfg.latent_dim}")
    if len(cfg.image_shape) != 3 or any(s < 1 for s in cfg.image_shape):
        raise ConfigError("image_shape", f"image shape: expected [channels, height, width] of positive sizes, got {list(cfg.image_shape)}")
    if cfg.image_shape[0] not in (1, 3):
        raise ConfigError("image_shape", f"image channels: expected 1 (grey) or 3 (RGB), got {cfg.image_shape[0]}")
    if not (isinstance(cfg.c, float) and math.isfinite(cfg.c) and cfg.c > 0):
        raise ConfigError("c", f"decoder variance c: expected a positive number, got {cfg.c!r}")
    if any(h < 1 or h > 8192 for h in cfg.hidden_sizes):
        raise ConfigError("hidden_sizes", f"hidden sizes: expected integers from 1 to 8192, got {list(cfg.hidden_sizes)}")
    if cfg.arch == "mlp" and not cfg.hidden_sizes:
        raise ConfigError("hidden_sizes", "hidden sizes: the mlp architecture needs at least one hidden layer")
    if cfg.arch == "conv":
        _, h, w = cfg.image_shape
        if h != w or h not in CONV_SIZES:
            raise ConfigError("image_shape", f"conv architecture: expected square images of size {CONV_SIZES}, got {h}×{w}")
        if not cfg.conv_channels or any(c < 1 or c > 1024 for c in cfg.conv_channels):
            raise ConfigError("conv_channels", f"conv channels: expected 1 to 5 integers from 1 to 1024, got {list(cfg.conv_channels)}")
        if len(cfg.conv_channels) > 5 or h // 2 ** len(cfg.conv_channels) < 1:
            raise ConfigError("conv_channels", f"conv channels: {len(cfg.conv_channels)} stride-2 layers shrink a {h}×{h} image below 1 pixel")


NEEDS_LABELS = (
    "a conditional VAE (cvae) learns q(z|x, y) and p(x|z, y), so it needs a labelled dataset; "
    "this one has no labels (try mnist5k, digits, or a folder: dataset with one subfolder per class)"
)


def default_num_classes(kind: str, has_labels: bool, class_names: list[str]) -> int:
    """num_classes for a new model of `kind` on a dataset: its class count for a cvae, else 0."""
    if kind not in CONDITIONAL_KINDS:
        return 0
    if not has_labels:
        raise ConfigError("dataset", NEEDS_LABELS)
    return len(class_names)


def check_labels_fit(cfg: ModelConfig, has_labels: bool, class_names: list[str]) -> None:
    """Raise ConfigError when a conditional model cannot use a dataset's labels; other kinds ignore labels."""
    if not cfg.is_conditional:
        return
    if not has_labels:
        raise ConfigError("dataset", NEEDS_LABELS)
    if len(class_names) > cfg.num_classes:
        raise ConfigError("num_classes", 
            f"the dataset has {len(class_names)} classes but the conditional VAE was built for "
            f"num_classes = {cfg.num_classes}; use at least {len(class_names)}"
        )
