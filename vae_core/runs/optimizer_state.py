"""Adam's state beside a run's weights, as safetensors: resuming goes on with the optimizer where it stopped.

Tensors are stored as `state.<param>.<key>`, the param groups as JSON metadata, with the weights' sha256
so a state saved with other weights is refused. Nothing is ever unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import safetensors.torch
import torch

from vae_core.fields import is_int
from vae_core.runs.folder import read_files, with_run_name
from vae_core.runs.format import (
    CONFIG_FILE,
    OPTIMIZER_FILE,
    WEIGHTS_FILE,
    parse_json,
    parse_safetensors,
    safetensors_metadata,
)


def optimizer_state_bytes(state: dict, weights_sha: str) -> bytes:
    """Adam-style state_dict -> safetensors: tensors `state.<param>.<key>`, param_groups as JSON metadata."""
    tensors = {}
    for index, per_param in state["state"].items():
        for key, value in per_param.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"optimizer state: '{key}' of parameter {index} is {type(value).__name__}; only tensors are saved")
            tensors[f"state.{int(index)}.{key}"] = value.detach().cpu().contiguous()
    try:
        groups = json.dumps(state["param_groups"])
    except TypeError as e:
        raise ValueError(f"optimizer param_groups are not JSON-serialisable: {e}") from None
    return safetensors.torch.save(tensors, metadata={"param_groups": groups, "weights_sha256": weights_sha})


def load_optimizer_state(run_dir: str | Path) -> dict | None:
    """The saved optimizer state_dict (for `optimizer.load_state_dict`), or None if the run has none."""
    try:
        _, files = read_files(Path(run_dir), (OPTIMIZER_FILE, CONFIG_FILE))
        data = files[OPTIMIZER_FILE]
        if data is None:
            return None
        tensors = parse_safetensors(data, OPTIMIZER_FILE)
        meta = safetensors_metadata(data)
        if files[CONFIG_FILE] is not None and "weights_sha256" in meta:
            config = parse_json(files[CONFIG_FILE], CONFIG_FILE)
            if isinstance(config, dict) and config.get("weights_sha256") != meta["weights_sha256"]:
                raise ValueError(f"{OPTIMIZER_FILE} and {WEIGHTS_FILE} come from different saves")
        try:
            groups = json.loads(meta["param_groups"])
        except (KeyError, json.JSONDecodeError):
            raise ValueError(f"{OPTIMIZER_FILE}: metadata 'param_groups' is missing or not JSON") from None
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and all(is_int(i) for i in g["params"])
            for g in groups
        ):
            raise ValueError(f"{OPTIMIZER_FILE}: 'param_groups' must be a list of objects with integer 'params'")
        for group in groups:
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])  # torch writes a tuple; JSON only has lists
        known = {i for g in groups for i in g["params"]}
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, tensor in tensors.items():
            parts = name.split(".", 2)
            if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit() or int(parts[1]) not in known:
                raise ValueError(f"{OPTIMIZER_FILE}: unexpected tensor '{name}'")
            state.setdefault(int(parts[1]), {})[parts[2]] = tensor
        return {"state": state, "param_groups": groups}
    except ValueError as e:
        raise with_run_name(run_dir, e) from e

