"""What the lead looks at: learning curves, the embedding map and clusters, annotator statistics.

Plain functions over the store and the saved round artefacts, no Streamlit, so the dashboards'
numbers are tested without a browser. One module per dashboard.
"""
