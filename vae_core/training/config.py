"""TrainConfig: the optimisation recipe, serialised beside the model config in a run."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vae_core.fields import ConfigError, is_int, is_number

DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("off", "fp16", "bf16")
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Defaults are the project's default recipe (see assets/README.md)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    warmup_epochs: float = 0.0
    free_bits: float = 0.0
    seed: int = 0
    device: str = "auto"
    time_limit: float | None = None  # seconds of training; None means no limit
    weight_decay: float = 0.0
    lr_schedule: str = "constant"  # "cosine" decays lr to 0 over `epochs`
    augment_shift: int = 0  # random per-image translation of up to this many pixels, zero padded
    amp: str = "off"  # mixed precision on CUDA: "fp16" (with a gradient scaler) or "bf16"; see device.autocast_dtype

    def __post_init__(self) -> None:
        validate_train_config(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "TrainConfig":
        if not isinstance(data, dict):
            raise ValueError(f"train config: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"train config: unknown field(s) {unknown}; expected only {sorted(known)}")
        return cls(**data)


def validate_train_config(cfg: TrainConfig) -> None:
    """Raise ConfigError (a ValueError) naming the field when a value is unusable."""
    if not is_int(cfg.epochs) or not 1 <= cfg.epochs <= 100_000:
        raise ConfigError("epochs", f"epochs: expected an integer from 1 to 100000, got {cfg.epochs!r}")
    if not is_int(cfg.batch_size) or not 1 <= cfg.batch_size <= 65_536:
        raise ConfigError("batch_size", f"batch size: expected an integer from 1 to 65536, got {cfg.batch_size!r}")
    if not is_number(cfg.lr) or not 0 < cfg.lr <= 100:
        raise ConfigError("lr", f"learning rate: expected a number in (0, 100], got {cfg.lr!r}")
    if not is_number(cfg.beta) or cfg.beta < 0:
        raise ConfigError("beta", f"beta: expected a number ≥ 0, got {cfg.beta!r}")
    if not is_number(cfg.warmup_epochs) or cfg.warmup_epochs < 0:
        raise ConfigError("warmup_epochs", f"warm-up epochs: expected a number ≥ 0, got {cfg.warmup_epochs!r}")
    if not is_number(cfg.free_bits) or cfg.free_bits < 0:
        raise ConfigError("free_bits", f"free bits: expected a number ≥ 0 (nats per dimension), got {cfg.free_bits!r}")
    if not is_int(cfg.seed) or not 0 <= cfg.seed < 2**63:
        raise ConfigError("seed", f"seed: expected a non-negative integer, got {cfg.seed!r}")
    if cfg.device not in DEVICES:
        raise ConfigError("device", f"device: expected one of {DEVICES}, got {cfg.device!r}")
    if cfg.time_limit is not None and (not is_number(cfg.time_limit) or cfg.time_limit <= 0):
        raise ConfigError("time_limit", f"time limit: expected a positive number of seconds, got {cfg.time_limit!r}")
    if not is_number(cfg.weight_decay) or cfg.weight_decay < 0:
        raise ConfigError("weight_decay", f"weight decay: expected a number ≥ 0, got {cfg.weight_decay!r}")
    if cfg.lr_schedule not in LR_SCHEDULES:
        raise ConfigError("lr_schedule", f"lr schedule: expected one of {LR_SCHEDULES}, got {cfg.lr_schedule!r}")
    if cfg.amp not in AMP_MODES:
        raise ConfigError("amp", f"amp: expected one of {AMP_MODES}, got {cfg.amp!r}")
    if not is_int(cfg.augment_shift) or not 0 <= cfg.augment_shift <= 8:
        raise ConfigError("augment_shift", f"augment shift: expected an integer from 0 to 8 pixels, got {cfg.augment_shift!r}")
