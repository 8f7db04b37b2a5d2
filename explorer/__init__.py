"""The Streamlit explorer over vae_core: `streamlit run explorer/app.py`."""
