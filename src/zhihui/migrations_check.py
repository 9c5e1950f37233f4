"""What Alembic compares: tables built by hand per dialect (the full-text index) are left out."""

HAND_MADE = {"resource_fts", "resource_search"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and (name in HAND_MADE or (name or "").startswith("resource_fts_")):
        return False
    return not (type_ == "index" and name == "ix_resource_search_document")
