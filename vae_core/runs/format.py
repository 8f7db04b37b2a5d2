"""What a run folder holds: its file names and size caps, and the checks each file's contents must pass.

A run is one folder: model.safetensors, config.json, metrics.json and optionally
optimizer.safetensors (docs/ARCHITECTURE.md). Safetensors are parsed from bytes; nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
from datetime import datetime, timezone

import torch
from safetensors.torch import load as safetensors_from_bytes  # parses bytes; never unpickles

from vae_core.fields import is_int
from vae_core.models import ModelConfig
from vae_core.training.config import TrainConfig

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
OPTIMIZER_FILE = "optimizer.safetensors"
RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, OPTIMIZER_FILE)
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE)

MB = 1024 * 1024
MAX_WEIGHTS_BYTES = 200 * MB
MAX_OPTIMIZER_BYTES = 2 * MAX_WEIGHTS_BYTES + MB  # Adam keeps two moments per weight
MAX_CONFIG_BYTES = 1 * MB
MAX_METRICS_BYTES = 64 * MB  # 5000 step records with 128 KL values each is about 13 MB

CONFIG_FIELDS = ("format_version", "name", "created", "model", "train", "dataset", "weights_sha256")
# Fields every version-1 config.json carries; fields added to ModelConfig later stay optional.
MODEL_FIELDS_V1 = ("kind", "arch", "image_shape", "latent_dim", "hidden_sizes", "conv_channels", "likelihood", "c")
DATASET_FIELDS = ("spec", "seed", "image_shape", "class_names")
RUN_STATES = ("finished", "stopped", "time_limit", "diverged", "running")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def max_bytes(file_name: str) -> int:
    """Size limit for one run file, read at call time so tests can lower the module constants."""
    return {
        CONFIG_FILE: MAX_CONFIG_BYTES,
        WEIGHTS_FILE: MAX_WEIGHTS_BYTES,
        METRICS_FILE: MAX_METRICS_BYTES,
        OPTIMIZER_FILE: MAX_OPTIMIZER_BYTES,
    }[file_name]



def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def parse_json(data: bytes, file_name: str) -> object:
    """Parse JSON bytes, or raise ValueError naming the file, line and column."""
    if looks_like_pickle(data):
        raise ValueError(f"{file_name} is a pickle / PyTorch file, not JSON; {EXPORT_HINT}")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{file_name} is not text (not UTF-8), so it cannot be JSON") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{file_name} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"{file_name} nests lists or objects too deeply to be a run file") from None
    except ValueError as e:  # e.g. an integer with more digits than Python will convert
        raise ValueError(f"{file_name} is not valid JSON ({e})") from None


def validate_dataset_info(info: object, image_shape: tuple[int, ...], where: str = "config.json: dataset") -> dict:
    """Check the dataset description saved in a run; extra descriptive keys are kept."""
    if not isinstance(info, dict):
        raise ValueError(f"{where}: expected a JSON object, got {_json_type(info)}")
    missing = [k for k in DATASET_FIELDS if k not in info]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}; expected {list(DATASET_FIELDS)}")
    if not isinstance(info["spec"], str) or not info["spec"]:
        raise ValueError(f"{where} field 'spec': expected a dataset name such as 'mnist', got {info['spec']!r}")
    if not is_int(info["seed"]):
        raise ValueError(f"{where} field 'seed': expected an integer, got {info['seed']!r}")
    shape = info["image_shape"]
    if not isinstance(shape, (list, tuple)) or len(shape) != 3 or not all(is_int(s) for s in shape):
        raise ValueError(f"{where} field 'image_shape': expected [channels, height, width], got {shape!r}")
    if list(shape) != list(image_shape):
        raise ValueError(f"{where} field 'image_shape': {list(shape)} differs from the model's {list(image_shape)}")
    names = info["class_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where} field 'class_names': expected a list of text, got {names!r}")
    return {**info, "image_shape": list(shape), "class_names": list(names)}


def validate_run_config(data: object) -> dict:
    """Check a parsed config.json; raise ValueError saying which field is wrong and how."""
    if not isinstance(data, dict):
        raise ValueError(f"config.json: expected a JSON object, got {_json_type(data)}")
    missing = [k for k in CONFIG_FIELDS if k not in data]
    if missing:
        raise ValueError(f"config.json: missing field(s) {missing}")
    unknown = sorted(set(data) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"config.json: unknown field(s) {unknown}; expected only {list(CONFIG_FIELDS)}")
    if data["format_version"] != FORMAT_VERSION or not is_int(data["format_version"]):
        raise ValueError(
            f"config.json: format_version {data['format_version']!r} is not supported (this version reads {FORMAT_VERSION})"
        )
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ValueError(f"config.json field 'name': expected non-empty text, got {data['name']!r}")
    if not isinstance(data["created"], str) or parse_created(data["created"]) is None:
        raise ValueError(
            f"config.json field 'created': expected an ISO-8601 time such as '2024-05-01T12:00:00+00:00', "
            f"got {data['created']!r}"
        )
    model = data["model"]
    if not isinstance(model, dict):
        raise ValueError(f"config.json field 'model': expected a JSON object, got {_json_type(model)}")
    missing = [k for k in MODEL_FIELDS_V1 if k not in model]
    if missing:
        raise ValueError(f"config.json: model config is missing field(s) {missing}")
    try:
        model_config = ModelConfig.from_dict(model)
    except (TypeError, ValueError) as e:
        raise ValueError(f"config.json: {e}") from None
    if data["train"] is not None:
        try:
            TrainConfig.from_dict(data["train"])
        except (TypeError, ValueError) as e:
            raise ValueError(f"config.json: {e}") from None
    validate_dataset_info(data["dataset"], model_config.image_shape)
    sha = data["weights_sha256"]
    if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
        raise ValueError(f"config.json field 'weights_sha256': expected 64 lowercase hex digits, got {sha!r}")
    return data


def validate_metrics(data: object, file_name: str = METRICS_FILE) -> dict:
    """Check the shape of a metrics history: {"history": [...], "steps": [...], "status": {...}}."""
    if not isinstance(data, dict):
        raise ValueError(f"{file_name}: expected a JSON object, got {_json_type(data)}")
    if not isinstance(data.get("history"), list):
        raise ValueError(f"{file_name} field 'history': expected a list of epoch records, got {_json_type(data.get('history'))}")
    for key in ("history", "steps"):
        records = data.get(key, [])
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{file_name} field '{key}': expected a list of JSON objects")
    status = data.get("status")
    if status is not None:
        if not isinstance(status, dict):
            raise ValueError(f"{file_name} field 'status': expected a JSON object, got {_json_type(status)}")
        if "state" in status and status["state"] not in RUN_STATES:
            raise ValueError(f"{file_name} field 'status.state': expected one of {RUN_STATES}, got {status['state']!r}")
    return data


def empty_metrics(message: str = "no training history") -> dict:
    """metrics.json content for a run without history (e.g. uploaded weights alone)."""
    return {"history": [], "steps": [], "status": {"state": "finished", "message": message, "epochs_done": 0, "step": 0}}


def parse_created(text: str) -> datetime | None:
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def created_timestamp(text: str) -> float:
    """Seconds since 1970 for a run's 'created' text; 0.0 when it cannot be read."""
    created = parse_created(text) if isinstance(text, str) else None
    return created.timestamp() if created else 0.0

EXPORT_HINT = (
    "for safety this app never opens pickle files (.pt, .pth, .pkl, .ckpt). Export the run to safetensors: "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors'), plus its config.json"
)


def looks_like_pickle(data: bytes) -> bool:
    """True for a pickle stream (protocol 2–5) or a zip archive, which is what torch.save writes."""
    return (len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5) or data[:4] == b"PK\x03\x04"


def parse_safetensors(data: bytes, file_name: str) -> dict[str, torch.Tensor]:
    try:
        return safetensors_from_bytes(data)
    except Exception as e:  # safetensors raises SafetensorError, and others for odd headers
        if looks_like_pickle(data):
            raise ValueError(f"{file_name} is a pickle / PyTorch .pt file, not safetensors; {EXPORT_HINT}") from None
        raise ValueError(
            f"{file_name} is corrupt or truncated ({e}); copy it again, or save the run again"
        ) from None


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The free-text metadata of a safetensors file that already parsed."""
    (header_len,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

