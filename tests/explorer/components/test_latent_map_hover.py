"""The hover map's data helpers: the zoomed view box from the browser, and swapping in a new preview."""
import numpy as np
import pytest

from explorer.components.latent_map_hover import (
    grid_preview,
    map_payload,
    requested_view_box,
    with_pinned,
    with_preview,
)


def _data():
    images = np.zeros((3, 3, 1, 4, 4), dtype=np.float32)
    preview = grid_preview(images, np.linspace(-1, 1, 3), np.linspace(-1, 1, 3))
    return map_payload("view-a", np.zeros((5, 2)), np.zeros(5), ["0"], np.arange(5), preview, ("z0", "z1"),
                       ((-1, 1), (-1, 1)), "initial grid")  # fmt: skip


def test_a_reported_box_for_this_view_is_read_as_two_ranges():
    state = {"view_box": {"view_id": "view-a", "x": [-0.5, 0.25], "y": [0.1, 0.9]}}
    assert requested_view_box(state, "view-a") == ((-0.5, 0.25), (0.1, 0.9))


@pytest.mark.parametrize("box", [
    None,
    {"view_id": "view-b", "x": [0, 1], "y": [0, 1]},  # another view's box
    {"view_id": "view-a", "x": [1, 0], "y": [0, 1]},  # reversed
    {"view_id": "view-a", "x": [0, float("nan")], "y": [0, 1]},
    {"view_id": "view-a", "x": [0, 1e9], "y": [0, 1]},  # absurdly large
    {"view_id": "view-a", "x": [0, 1]},  # missing y
    {"view_id": "view-a", "x": ["a", "b"], "y": [0, 1]},
    {"view_id": "view-a", "x": 3, "y": [0, 1]},
    "not a dict",
])  # fmt: skip
def test_anything_but_a_sane_box_for_this_view_is_ignored(box):
    assert requested_view_box({"view_box": box}, "view-a") is None
    assert requested_view_box(None, "view-a") is None


def test_a_new_preview_changes_the_data_id_and_nothing_else_but_the_preview():
    data = _data()
    finer = grid_preview(np.ones((3, 3, 1, 4, 4), dtype=np.float32), np.linspace(0, 0.5, 3), np.linspace(0, 0.5, 3))
    swapped = with_preview(data, finer, "zoomed grid")
    assert swapped["preview"] is finer and swapped["hover_text"] == "zoomed grid"
    assert swapped["data_id"] != data["data_id"]
    assert with_preview(data, finer, "zoomed grid")["data_id"] == swapped["data_id"]  # same preview, same id
    assert {k: v for k, v in swapped.items() if k not in ("preview", "hover_text", "data_id")} == \
        {k: v for k, v in data.items() if k not in ("preview", "hover_text", "data_id")}
    assert data["hover_text"] == "initial grid"  # the original is untouched
    with pytest.raises(ValueError, match="preview kind"):
        with_preview(data, {"kind": "html"}, "x")


def test_a_pin_joins_the_shared_data_only_for_its_own_view():
    data = _data()
    assert data["pinned"] is None
    pin = {"view_id": "view-a", "x": 0.5, "y": -0.25, "index": 3}
    pinned = with_pinned(data, pin)
    assert pinned["pinned"] == pin and pinned["data_id"] == data["data_id"]
    assert data["pinned"] is None  # the shared data is left as it was
    assert with_pinned(data, {**pin, "view_id": "view-b"})["pinned"] is None
    assert with_pinned(data, None)["pinned"] is None and with_pinned(data, "junk")["pinned"] is None
