"""Run names: what a run folder may be called, and where it lives under a runs root.

A run name uses letters, digits, '-', '_' and '.', at most 64 characters; inner spaces become '-'.
It may not start with '.' (hidden and temporary folders do) and may not contain '..'.
"""
from __future__ import annotations

import re
from pathlib import Path

MAX_NAME_LENGTH = 64
ALLOWED = "letters A–Z a–z, digits 0–9, '-', '_' and '.' (spaces become '-')"
_ALLOWED_RE = re.compile(r"[A-Za-z0-9._-]+")
# Folder names Windows cannot create, whatever the extension.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# Hidden siblings written by checkpoint.save_run: ".<name>.tmp-<hex>" and ".<name>.old-<hex>".
TEMP_SIBLING_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-[0-9a-f]{8,}$")


def sanitize_run_name(name: str) -> str:
    """Return the cleaned run name, or raise ValueError saying what is allowed."""
    if not isinstance(name, str):
        raise ValueError(f"run name: expected text, got {type(name).__name__}")
    cleaned = name.strip()
    if not cleaned:
        raise ValueError(f"run name: empty; use {ALLOWED}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise ValueError(f"run name {name!r}: contains a control character (tab, newline, ...); use {ALLOWED}")
    if ".." in cleaned:
        raise ValueError(f"run name {name!r}: may not contain '..'; use {ALLOWED}")
    if "/" in cleaned or "\\" in cleaned:
        raise ValueError(f"run name {name!r}: may not contain '/' or '\\' (a run is one folder); use {ALLOWED}")
    if cleaned.startswith("."):
        raise ValueError(f"run name {name!r}: may not start with '.' (those folders are hidden); use {ALLOWED}")
    cleaned = re.sub(r" +", "-", cleaned)
    if not _ALLOWED_RE.fullmatch(cleaned):
        bad = sorted({ch for ch in cleaned if not _ALLOWED_RE.fullmatch(ch)})
        raise ValueError(f"run name {name!r}: character(s) {''.join(bad)!r} not allowed; use {ALLOWED}")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"run name {name!r}: {len(cleaned)} characters, at most {MAX_NAME_LENGTH} allowed")
    if cleaned.endswith("."):
        raise ValueError(f"run name {name!r}: may not end with '.'; use {ALLOWED}")
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED:
        raise ValueError(f"run name {name!r}: reserved by Windows; pick another name")
    return cleaned


def run_dir_for(root: str | Path, name: str) -> Path:
    """The folder of run `name` directly inside `root` (the name is sanitized first)."""
    root = Path(root)
    path = root / sanitize_run_name(name)
    # Guards against a symlink inside root pointing elsewhere, not only against odd names.
    if path.resolve().parent != root.resolve():
        raise ValueError(f"run name {name!r}: resolves to {path.resolve()}, which is not directly inside {root}")
    return path


def run_name_taken(root: str | Path, name: str) -> bool:
    """True when `name` is a run folder in `root`, or one half-way through being saved."""
    root = Path(root)
    if (root / name).exists() or (root / name).is_symlink():
        return True
    if not root.is_dir():
        return False
    return any(
        (m := TEMP_SIBLING_RE.match(entry.name)) and m["name"] == name for entry in root.iterdir()
    )


def unique_run_name(root: str | Path, base: str) -> str:
    """`base` sanitized, or `base-2`, `base-3`, ... : the first not taken in `root`."""
    base = sanitize_run_name(base)
    if not run_name_taken(root, base):
        return base
    for i in range(2, 100_000):
        suffix = f"-{i}"
        candidate = sanitize_run_name(base[: MAX_NAME_LENGTH - len(suffix)].rstrip(".") + suffix)
        if not run_name_taken(root, candidate):
            return candidate
    raise ValueError(f"run name {base!r}: no free variant left in {root}")
