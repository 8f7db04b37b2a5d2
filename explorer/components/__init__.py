"""Custom Streamlit components (st.components.v2), each loaded from files next to its module; no build step."""
