"""The lead's review: the queue of flagged items and the cleaning decisions taken on them.

- ``queue``: open noise flags grouped per item, sorted by severity, filtered and paginated, with
  each detector's evidence made readable.
- ``decisions``: keep, relabel, drop, edit, keep one of a duplicate group; one at a time or in
  bulk, each recorded with the state before and after, and undoable.
"""
