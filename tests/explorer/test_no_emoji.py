"""The app shows no emoji: a lecture hall's machines (and headless Chromium here) may lack an emoji font, and then
every icon renders as an empty box. Icons are Streamlit's Material Symbols (":material/name:"), which ship with it."""
from __future__ import annotations

import re
from pathlib import Path

EXPLORER = Path(__file__).resolve().parents[2] / "explorer"
# Pictographs, dingbats, arrows-as-emoji and the variation selector that turns a plain symbol into an emoji.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def test_no_source_file_of_the_app_contains_an_emoji():
    found = []
    for path in sorted(EXPLORER.rglob("*")):
        if path.suffix not in {".py", ".js", ".html", ".css", ".md"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if EMOJI.search(line):
                found.append(f"{path.relative_to(EXPLORER)}:{number}: {line.strip()}")
    assert not found, "emoji in the app's sources:\n" + "\n".join(found)


def test_every_page_and_the_tab_have_a_material_icon():
    source = (EXPLORER / "app.py").read_text(encoding="utf-8")
    icons = re.findall(r'(?:page_icon|icon)="([^"]*)"', source)
    assert len(icons) == 6  # the browser tab and five pages
    assert all(re.fullmatch(r":material/[a-z_]+:", icon) for icon in icons), icons
