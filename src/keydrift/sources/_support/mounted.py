"""Secret files mounted into containers, as each reader of them sees their bytes."""

from __future__ import annotations

from keydrift.model.types import Assignment, Location, ReaderView, Step
from keydrift.resolve import drop_one_newline
from keydrift.secret import SecretValue

__all__ = ["mounted_file_assignment"]


def mounted_file_assignment(
    variable: str,
    text: str,
    location: Location,
    source: str,
    service: str | None,
    chain: tuple[Step, ...],
    tracked: str | None,
) -> Assignment:
    """A mounted secret file: keydrift's resolver drops one trailing newline; apps that read
    the file themselves keep it (and any trailing space), so those views go to ``readers``."""
    resolved = drop_one_newline(text.encode("utf-8")).decode("utf-8")
    readers: tuple[ReaderView, ...] = ()
    if text != text.rstrip() or text != text.lstrip():
        what = "trailing newline kept" if text.rstrip(" \t") != text.rstrip() else "trailing space kept"
        if text != text.lstrip():
            what = "leading whitespace kept"
        readers = (
            ReaderView("mounted-file", SecretValue(text), what),
            ReaderView("keydrift-resolve", SecretValue(resolved), "one trailing newline dropped"),
            ReaderView("stripped", SecretValue(text.strip()), "whitespace stripped"),
        )
        if len({v.value for v in readers}) < 2:
            readers = ()
    return Assignment(
        variable=variable,
        value=SecretValue(resolved),
        location=location,
        source=source,
        environment=None,
        service=service,
        chain=chain,
        raw=SecretValue(text),
        literal=True,
        tracked=tracked,
        readers=readers,
    )
