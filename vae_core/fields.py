"""One value at the edge of vae_core: the checks every config and file shares, and the error that names its field.

A `ConfigError` is a ValueError whose `.field` says which setting it is about: a ModelConfig or
TrainConfig field name, "name" for a run name, "dataset" for a dataset spec. A form shows the
message under that field whatever its wording; everything else reads it as a ValueError.
"""
from __future__ import annotations

import math
import re


class ConfigError(ValueError):
    """A value a user gave is refused; `field` names the setting, the message says what was expected."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def is_int(value: object) -> bool:
    """A whole number (a bool is not one, although Python counts it as an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float (not a bool, not NaN, not ±inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_SEPARATORS = re.compile(r"[,;\s]+")


def split_list(text: str) -> list[str]:
    """'512, 256', '512,256', '512 256' and '512; 256' -> ['512', '256']; empty parts are dropped."""
    return [part for part in _SEPARATORS.split(str(text)) if part]


def parse_int_list(text: str, field: str, example: str = "512, 256") -> tuple[int, ...]:
    """Whole numbers separated by commas (or spaces); ConfigError naming `field` otherwise, or when empty."""
    parts = split_list(text)
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        raise ConfigError(field, f"{field.replace('_', ' ')}: expected whole numbers separated by commas, "
                                 f"e.g. {example}; got {text!r}") from None
    if not values:
        raise ConfigError(field, f"{field.replace('_', ' ')}: expected at least one whole number, e.g. {example}")
    return values


def parse_number_list(text: str, field: str, example: str = "1, 2, 4, 8") -> tuple[float, ...]:
    """Finite numbers separated by commas (or spaces); ConfigError naming `field` otherwise, or when empty."""
    parts = split_list(text)
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        raise ConfigError(field, f"{field.replace('_', ' ')}: expected finite numbers separated by commas, "
                                 f"e.g. {example}; got {text!r}")
    return values
