"""Entry point: `streamlit run explorer/app.py`. Sets up the pages; each page draws the sidebar first."""
import sys
from pathlib import Path

# Run as a script, Python puts explorer/ on sys.path, not the repository root that holds the packages.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402

from explorer import sidebar  # noqa: E402
from explorer.server import tcp_nodelay  # noqa: E402
from explorer.server.torch_threads import for_interactive_work  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# Fragment reruns skip this file: each fragment that decodes calls it too.
for_interactive_work()
tcp_nodelay.for_this_server()  # Streamlit's sockets keep Nagle's algorithm on; see the module
st.set_page_config(page_title="VAE explorer", page_icon="🧭", layout="wide")

page = st.navigation(
    [
        st.Page(PAGES_DIR / "explore.py", title="Explore", icon="🎛️", default=True),
        st.Page(PAGES_DIR / "latent_map.py", title="Latent map", icon="🗺️"),
        st.Page(PAGES_DIR / "reconstruct.py", title="Reconstruct", icon="🔁"),
        st.Page(PAGES_DIR / "train.py", title="Train", icon="🏋️"),
        st.Page(PAGES_DIR / "learn.py", title="Learn", icon="📖"),
    ]
)
sidebar.begin_page()
page.run()
# A page that did not draw the sidebar still gets one; the dataset summary comes last (it may load data).
sidebar.finish_sidebar()
