"""Errors that name the file, row and field a user has to fix."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input data: says where (file, row, field) and what was expected."""

    def __init__(self, file: object, message: str, row: int | None = None,
                 field: str | None = None) -> None:
        where = str(file)
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")
