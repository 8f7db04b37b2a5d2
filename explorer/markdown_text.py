"""Text that users control, shown inside Streamlit markdown as the characters it holds.

st.markdown, st.caption, st.warning and st.error render markdown. Streamlit never renders raw HTML
there (the app sets no unsafe_allow_html), but a dataset spec or an error quoting an uploaded
config.json could still draw an image from any address (`![x](https://…)`), a link or
LaTeX, and every student sees a run another student uploaded. Each character that can start an
inline construct (emphasis, code, link, image, autolink, HTML, strikethrough, math, entity,
Streamlit's :colour[…] and :icon:) is escaped with a backslash, which CommonMark turns back into
that very character. The text goes inside a line, after other words: block syntax (#, -, 1.) only
counts at the start of a line, and newlines are replaced by spaces.
"""
from __future__ import annotations

import re

_INLINE_MARKDOWN = re.compile(r"([\\`*_\[\]()<>!~$:&])")


def markdown_text(text: object) -> str:
    """`text` escaped so markdown shows it verbatim inside a line."""
    one_line = re.sub(r"\s*[\r\n]+\s*", " ", str(text))
    return _INLINE_MARKDOWN.sub(r"\\\1", one_line)
