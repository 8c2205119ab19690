"""Errors that name the file, line (or record) and field a user has to fix."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input data: where (file, line of the file with the header as line 1, or a record's
    id where the format has no lines, and field) and what to do about it."""

    def __init__(self, file: object, message: str, line: int | None = None,
                 field: str | None = None, record: object = None) -> None:
        self.file, self.message = str(file), message
        self.line = None if line is None else int(line)
        self.field, self.record = field, None if record is None else str(record)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.record is not None:
            where += f", record {self.record!r}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"

    def relocated(self, copy: str | Path, origin: str | Path) -> InputError:
        """The same error naming ``origin`` (the path the user configured) where it named
        the workflow's ``copy`` of it."""
        copy, origin = str(copy).rstrip("/"), str(origin).rstrip("/")
        origin_is_file = Path(origin).is_file()
        file = self.file
        if file == copy or file.startswith(copy + "/"):
            file = origin if origin_is_file else origin + file[len(copy):]
        message = self.message.replace(copy + "/", "" if origin_is_file else origin + "/")
        return InputError(file, message, self.line, self.field, self.record)
