"""The browser's token: which jobs are this browser's, across reloads, tabs and page switches.

A Streamlit session ends with its tab, so a job started in one session would be orphaned by a reload. The
token lives in a cookie instead: Streamlit hands the page's cookies to the script (`st.context.cookies`),
and for a browser that has none yet, an `st.components.v2` component makes one, stores it and reports it.
Another browser has another token, so it can see that jobs run but cannot stop them.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import streamlit as st

COOKIE = "vae_explorer_token"
NAME = "vae_explorer.browser_token"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
SESSION_TOKEN_KEY = "browser_token"
COMPONENT_KEY = "browser_token_component"

_mount = st.components.v2.component(
    NAME, html="", js=(Path(__file__).resolve().parent / "browser_token" / "browser_token.js").read_text("utf-8")
)


def valid_token(value) -> str | None:
    """`value` when it is a token this app makes (32 hex digits), else None: a cookie is user input."""
    return value if isinstance(value, str) and TOKEN_PATTERN.fullmatch(value) else None


def browser_token() -> str:
    """This browser's token. Before its cookie exists (first visit), a token for this session stands in, and
    the component then stores one; a browser that refuses cookies keeps the session's token."""
    cookie = valid_token(st.context.cookies.get(COOKIE))
    if cookie is not None:
        st.session_state[SESSION_TOKEN_KEY] = cookie
        return cookie
    reported = _mount(key=COMPONENT_KEY, data={"cookie": COOKIE}, on_token_change=lambda: None)
    token = valid_token(getattr(reported, "token", None))
    if token is not None:
        # The jobs this session started under its stand-in token move to the cookie's token.
        st.session_state[SESSION_TOKEN_KEY] = token
        return token
    return st.session_state.setdefault(SESSION_TOKEN_KEY, secrets.token_hex(16))
