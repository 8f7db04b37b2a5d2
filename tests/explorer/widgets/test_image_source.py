"""Reconstruct's "by index" image numbers: one comma-list parser, a range check and at most 12, each message
naming the image numbers."""
import pytest

from explorer.widgets.image_source import MAX_IMAGES, parse_indices
from vae_core.fields import ConfigError


def test_numbers_separated_by_commas_semicolons_or_spaces():
    assert parse_indices("3, 7", 10) == [3, 7]
    assert parse_indices("3;7 9", 10) == [3, 7, 9]


@pytest.mark.parametrize("text, words", [
    ("3, lots", "expected whole numbers"),
    ("", "at least one"),
    ("3, 10", "out of range"),
    ("-1", "out of range"),
    (", ".join(["1"] * (MAX_IMAGES + 1)), f"at most {MAX_IMAGES}"),
])  # fmt: skip
def test_a_bad_list_names_the_image_numbers(text, words):
    with pytest.raises(ConfigError) as info:
        parse_indices(text, 10)
    assert info.value.field == "image_numbers"
    assert str(info.value).startswith("image numbers") and words in str(info.value)
