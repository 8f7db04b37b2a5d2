"""Size limits for user-supplied data, checked from headers before anything big is read."""
from __future__ import annotations

MAX_IMAGE_SIDE = 4096
MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE
MAX_TOTAL_VALUES = 2**28  # pixel values over all images: 1 GiB once stored as float32
# The largest single file a user hands over: a run .zip, or one image. The app's uploader enforces the
# same number (.streamlit/config.toml server.maxUploadSize, in MB; a test keeps the two equal), so the
# app, the CLI and the Python API refuse the same files. 100 MB holds any run the CLI's defaults make,
# optimizer state included, with room to spare (the shipped models are about 3 MB), while a class of
# 30 uploading at once still fits in a few GB of server memory.
MAX_UPLOAD_FILE_MB = 100


def check_image_block(source: str, n: int, c: int, h: int, w: int) -> None:
    """Raise ValueError unless n images of c×h×w are enough to split and small enough to hold in memory."""
    if n < 2:
        raise ValueError(f"{source}: holds {n} image(s); need at least 2 to split into train and test")
    if h < 1 or w < 1 or h > MAX_IMAGE_SIDE or w > MAX_IMAGE_SIDE:
        raise ValueError(f"{source}: images are {h}×{w} pixels; expected sides from 1 to {MAX_IMAGE_SIDE}")
    if n * c * h * w > MAX_TOTAL_VALUES:
        raise ValueError(
            f"{source}: {n} images of {c}×{h}×{w} are {n * c * h * w:,} values; "
            f"at most {MAX_TOTAL_VALUES:,} fit in memory (use fewer or smaller images)"
        )
