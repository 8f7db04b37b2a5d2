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

# Not "pages/": Streamlit serves a folder of that name next to the main script as pages of their own, so
# opening /train directly would run train.py without this file (no sys.path fix, no navigation, no sidebar).
PAGES_DIR = Path(__file__).resolve().parent / "page_scripts"

# Fragment reruns skip this file: each fragment that decodes calls it too.
for_interactive_work()
tcp_nodelay.for_this_server()  # Streamlit's sockets keep Nagle's algorithm on; see the module
st.set_page_config(page_title="VAE explorer", page_icon=":material/explore:", layout="wide")

page = st.navigation(
    [
        st.Page(PAGES_DIR / "explore.py", title="Explore", icon=":material/tune:", default=True),
        st.Page(PAGES_DIR / "latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
        st.Page(PAGES_DIR / "reconstruct.py", title="Reconstruct", icon=":material/compare:"),
        st.Page(PAGES_DIR / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(PAGES_DIR / "learn.py", title="Learn", icon=":material/school:"),
    ]
)
sidebar.begin_page()
page.run()
# A page that did not draw the sidebar still gets one; the dataset summary comes last (it may load data).
sidebar.finish_sidebar()
