"""Resolving the import options (shape, ``--map``, ``--text-field``, ``--label-field``) into one mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.ingest.errors import ImportUsageError
from workbench.ingest.shapes import SHAPES, Shape

DEFAULT_LABEL_FIELD = "label"
DEFAULT_ID_FIELD = "id"
#: Targets ``--map`` accepts besides a shape's own fields.
EXTRA_TARGETS = ("id", "label")


@dataclass
class FieldOptions:
    """How to read a record.

    Attributes
    ----------
    shape : Shape or None
        None until detected from the first parseable record.
    fields : dict
        Shape field -> record key, only where they differ (``--map``, ``--text-field``).
    label_field, id_field : str
    label_field_required : bool
        The label field was named explicitly, so a file without it is an error, not "no labels".
    """

    shape: Shape | None
    fields: dict[str, str] = field(default_factory=dict)
    label_field: str = DEFAULT_LABEL_FIELD
    id_field: str = DEFAULT_ID_FIELD
    label_field_required: bool = False

    def set_shape(self, shape: Shape) -> None:
        unknown = sorted(set(self.fields) - set(shape.fields))
        if unknown:
            names = ", ".join(map(repr, unknown))
            valid = ", ".join((*shape.fields, *EXTRA_TARGETS))
            raise ImportUsageError(
                f"cannot map {names}: not a field of the {shape.name} shape (fields: {valid})"
            )
        self.shape = shape

    def used_keys(self) -> frozenset[str]:
        """Record keys consumed by the shape, the label and the id (the rest become metadata)."""
        assert self.shape is not None
        keys = {self.fields.get(name, name) for name in self.shape.fields}
        return frozenset(keys | {self.label_field, self.id_field})

    def mapping(self) -> dict[str, str]:
        """The full mapping used, as stored with the import batch."""
        assert self.shape is not None
        fields = {name: self.fields.get(name, name) for name in self.shape.fields}
        return {**fields, "id": self.id_field, "label": self.label_field}


def resolve_options(
    shape: str | None,
    field_map: Mapping[str, str] | None,
    text_field: str | None,
    label_field: str | None,
) -> FieldOptions:
    """Check and combine the options; raise ImportUsageError for combinations that cannot work."""
    fields = dict(field_map or {})
    if text_field is not None:
        if shape not in (None, "text"):
            raise ImportUsageError(f"--text-field applies to the text shape, not {shape!r}")
        if fields.get("text", text_field) != text_field:
            raise ImportUsageError(f"--text-field {text_field!r} contradicts --map text={fields['text']}")
        shape, fields["text"] = "text", text_field
    mapped_label = fields.pop("label", None)
    if label_field and mapped_label and label_field != mapped_label:
        raise ImportUsageError(f"--label-field {label_field!r} contradicts --map label={mapped_label}")
    explicit_label = label_field or mapped_label
    options = FieldOptions(
        shape=None,
        fields=fields,
        label_field=explicit_label or DEFAULT_LABEL_FIELD,
        id_field=fields.pop("id", DEFAULT_ID_FIELD),
        label_field_required=explicit_label is not None,
    )
    if shape is not None:
        if shape not in SHAPES:
            raise ImportUsageError(f"unknown shape {shape!r} (shapes: {', '.join(SHAPES)})")
        options.set_shape(SHAPES[shape])
    return options
