"""Export page (leads only): settings, the distribution before and after the mixture, then the files.

Thin on purpose: the settings become an ``ExportSettings`` and everything else is
``workbench.export`` (the same code as ``python -m workbench export``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.config import REPO_ROOT
from workbench.export import (
    FORMATS,
    WEIGHT_SCHEMES,
    ExportSettings,
    ExportSettingsError,
    MixtureError,
    parse_mixture,
    plan_export,
    preview,
    write_export,
)
from workbench.export.mixture import DOWN_SAMPLERS
from workbench.store import audit
from workbench.store.projects import list_projects
from workbench.ui import session
from workbench.ui.db import database

NO_WEIGHTS = "(none: repeat items)"
SETTINGS_KEY = "export_chosen_settings"
WRITTEN_KEY = "export_written"
EXPORTS_DIR = REPO_ROOT / "exports"


def _mixture_example(label_names: list[str]) -> str:
    """A mixture spec over the project's own first labels, equal weights: shows the syntax with real values."""
    shown = label_names[:3]
    if not shown:
        return "source=web:0.7,books:0.3"
    weight = round(1 / len(shown), 2)
    return "label=" + ",".join(f"{name}:{weight}" for name in shown)


def _settings_form(project_name: str, label_names: list[str]) -> tuple[ExportSettings, Path] | None:
    """The form; on submit, the settings and the output folder (None until then or on a bad spec)."""
    with st.form("export_settings"):
        left, right = st.columns(2)
        fmt = left.selectbox(
            "Format", list(FORMATS), format_func=lambda name: FORMATS[name].description, key="export_format"
        )
        mixture = left.text_area(
            "Mixture (one field per line)",
            key="export_mixture",
            placeholder=_mixture_example(label_names),
            help="FIELD=V1:W1,V2:W2,... with FIELD label, source or a metadata field; "
            "empty keeps the natural proportions.",
        )
        size = left.number_input(
            "Train records (0 = as many as items)", min_value=0, value=0, step=100, key="export_size"
        )
        weights = left.selectbox("Loss weights", [NO_WEIGHTS, *WEIGHT_SCHEMES], key="export_weights")
        downsample = left.selectbox(
            "Down-sampling drops",
            list(DOWN_SAMPLERS),
            key="export_downsample",
            help="random, or quality: the items the scorer finds least likely first.",
        )
        val_fraction = right.number_input(
            "Validation fraction",
            min_value=0.0,
            max_value=0.9,
            value=0.0,
            step=0.05,
            key="export_val_fraction",
        )
        seed = right.number_input("Seed", min_value=0, value=0, step=1, key="export_seed")
        max_repeats = right.number_input(
            "Max extra copies per item", min_value=0, value=3, step=1, key="export_max_repeats"
        )
        pseudo = right.number_input(
            "Pseudo-label threshold (0 = off)",
            min_value=0.0,
            max_value=0.99,
            value=0.0,
            step=0.05,
            key="export_pseudo",
        )
        human_only = right.checkbox("Human labels only", key="export_human_only")
        curriculum = right.checkbox("Curriculum order (easy to hard)", key="export_curriculum")
        folder = st.text_input("Output folder", value=str(EXPORTS_DIR / project_name), key="export_folder")
        if not st.form_submit_button("Preview", key="export_preview"):
            return None
    try:
        settings = ExportSettings(
            format=fmt,
            mixture=tuple(parse_mixture(line) for line in mixture.splitlines() if line.strip()),
            size=int(size) or None,
            weights=None if weights == NO_WEIGHTS else weights,
            val_fraction=float(val_fraction),
            seed=int(seed),
            human_labels_only=human_only,
            pseudo_label_threshold=float(pseudo) or None,
            max_repeats=int(max_repeats),
            downsample=downsample,
            curriculum=curriculum,
        )
    except MixtureError as exc:
        st.error(str(exc))
        return None
    return settings, Path(folder).expanduser()


def _show_preview(rows: list[dict]) -> None:
    """A before/after bar chart and a table per mixed field."""
    table = pd.DataFrame(rows)
    for field_name, part in table.groupby("field", sort=False):
        st.subheader(f"By {field_name}")
        by_value = part.drop(columns="field").set_index("value")
        st.bar_chart(by_value[["before", "after"]], stack=False)
        st.dataframe(by_value, key=f"export_preview_{field_name}")


def _write(project_id: int, settings: ExportSettings, folder: Path, username: str) -> None:
    db = database()
    with db.read() as read:
        plan = plan_export(read, project_id, settings)
    manifest = write_export(plan, folder)
    with db.write() as write:
        audit.record(
            write,
            actor=username,
            action="export",
            entity="project",
            entity_id=project_id,
            project_id=project_id,
            after={"out": str(folder), "files": manifest["files"], "settings": manifest["settings"]},
        )
    st.session_state[WRITTEN_KEY] = (str(folder), list(manifest["files"]) + ["manifest.json"])


def _downloads() -> None:
    written = st.session_state.get(WRITTEN_KEY)
    if not written:
        return
    folder, names = Path(written[0]), written[1]
    st.success(f"Wrote {len(names)} files to {folder}")
    for name in names:
        path = folder / name
        if path.exists():
            st.download_button(
                f"Download {name}", path.read_bytes(), file_name=name, key=f"export_download_{name}"
            )


def main() -> None:
    user = session.require_user("lead")
    st.title("Export")
    with database().read() as read:
        listed = list_projects(read)
        projects = [(project.id, project.name) for project in listed]
        label_names = {project.id: project.label_names for project in listed}
    if not projects:
        st.info("No project yet: import data first.")
        return
    names = dict((name, project_id) for project_id, name in projects)
    name = st.selectbox("Project", list(names), key="export_project") if len(names) > 1 else next(iter(names))
    submitted = _settings_form(name, label_names[names[name]])
    if submitted is not None:
        st.session_state[SETTINGS_KEY] = (names[name], *submitted)
        st.session_state.pop(WRITTEN_KEY, None)
    chosen = st.session_state.get(SETTINGS_KEY)
    if chosen is None or chosen[0] != names[name]:
        return
    project_id, settings, folder = chosen
    try:
        with database().read() as read:
            rows = preview(plan_export(read, project_id, settings))
    except (MixtureError, ExportSettingsError) as exc:
        st.error(str(exc))
        return
    _show_preview(rows)
    if st.button(f"Export to {folder}", key="export_write", type="primary"):
        _write(project_id, settings, folder, user.username)
    _downloads()


main()
