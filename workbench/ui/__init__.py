"""The Streamlit app: ``streamlit run workbench/ui/app.py`` (``./run.sh`` does this)."""
