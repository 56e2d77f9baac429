"""Which compose files the repository deploys together: ``docker compose -f a -f b``.

Compose merges only ``compose.override.yaml`` implicitly; any other pair of compose files is
one project only when someone passes both with ``-f``. Scripts, Makefiles, task files, CI
workflows and READMEs are where a repository says so, so they are searched (lazily, once per
run, only when some compose file could be part of a stack).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable

from keydrift.sources.interface import UnreadableFile

__all__ = ["ComposeStacks"]

_DOC_NAMES = re.compile(
    r"(^|/)(Makefile|makefile|GNUmakefile|justfile|Justfile|Taskfile\.ya?ml|README[^/]*|"
    r"[^/]+\.(sh|bash|md|mdx|rst|txt|mk)|\.github/workflows/[^/]+\.ya?ml)$"
)
_COMMAND = re.compile(r"docker[ -]compose\b[^\n`]*")
# Tools that read an env file with rules of their own (quotes and all kept).
_ENV_FILE_READERS = (
    ("docker-run-env-file",
     re.compile(r"docker\s+(?:container\s+)?(?:run|create)\b[^\n`]*?--env-file[= ]+([^\s`'\"]+)")),
    ("kubectl-from-env-file",
     re.compile(r"kubectl\b[^\n`]*?--from-env-file[= ]+([^\s`'\"]+)")),
)
_DOTENV_CALL = re.compile(rb"\b(?:load_dotenv|dotenv_values)\s*\(")
_MAX_FILES = 400
_MAX_BYTES = 512 * 1024
_MAX_STACKS = 200


def loads_python_dotenv(data: bytes) -> bool:
    """The code calls python-dotenv's ``load_dotenv`` or ``dotenv_values``."""
    # `in` first: the regex (which starts at a word boundary) scans far slower than memchr.
    return b"dotenv" in data and _DOTENV_CALL.search(data) is not None


class ComposeStacks:
    """``stacks_with(path)``: the ``-f`` combinations (in order) that name ``path`` among other
    compose files of the tree."""

    def __init__(
        self,
        files: Iterable[str],
        read_text: Callable[[str], str],
        is_compose: Callable[[str], bool],
    ) -> None:
        self._files = frozenset(files)
        self._read = read_text
        self._is_compose = is_compose
        self._stacks: list[tuple[str, ...]] | None = None
        self._env_readers: dict[str, set[str]] = {}
        # Told by the read phase, which sees every Python file's bytes (python_dotenv_seen).
        self._python_dotenv = False

    def stacks_with(self, path: str) -> tuple[tuple[str, ...], ...]:
        if self._stacks is None:
            self._stacks = self._scan()
        return tuple(s for s in self._stacks if path in s)

    def env_file_readers(self, path: str) -> frozenset[str]:
        """Tools the repository runs on env file ``path`` besides compose: ``docker run
        --env-file``, ``kubectl create secret --from-env-file``, and python-dotenv when any of
        its Python code loads env files."""
        if self._stacks is None:
            self._stacks = self._scan()
        found = set(self._env_readers.get(path, ()))
        if self._python_dotenv:
            found.add("python-dotenv")
        return frozenset(found)

    def python_dotenv_seen(self, found: bool) -> None:
        """What the read phase saw: whether any Python file it read calls python-dotenv (so the
        tree need not be read again to find out)."""
        self._python_dotenv = found

    def _scan(self) -> list[tuple[str, ...]]:
        found: dict[tuple[str, ...], None] = {}
        docs = sorted(f for f in self._files if _DOC_NAMES.search(f))[:_MAX_FILES]
        for doc in docs:
            try:
                text = self._read(doc)
            except UnreadableFile:  # unreadable, binary or too large: it says nothing here
                continue
            if len(text) > _MAX_BYTES or not any(
                word in text for word in ("compose", "--env-file", "--from-env-file")
            ):
                continue
            joined = text.replace("\\\n", " ")
            for m in _COMMAND.finditer(joined):
                stack = self._stack(m.group(0), posixpath.dirname(doc))
                if stack is not None and len(found) < _MAX_STACKS:
                    found[stack] = None
            for reader, pattern in _ENV_FILE_READERS:
                for m in pattern.finditer(joined):
                    for where in (posixpath.dirname(doc), ""):
                        target = posixpath.normpath(posixpath.join(where, m.group(1)))
                        if target in self._files:
                            self._env_readers.setdefault(target, set()).add(reader)
                            break
        return list(found)

    def _stack(self, command: str, base: str) -> tuple[str, ...] | None:
        try:
            words = shlex.split(command, comments=True)
        except ValueError:
            words = command.split()
        named: list[str] = []
        for i, word in enumerate(words):
            if word in ("-f", "--file") and i + 1 < len(words):
                named.append(words[i + 1])
            elif word.startswith("--file="):
                named.append(word.split("=", 1)[1])
            elif word.startswith("-f") and len(word) > 2 and not word.startswith("--"):
                named.append(word[2:])
        if len(named) < 2:
            return None
        # A README at the root names paths from the root; a script may `cd` first. Take the
        # first base under which every named file is a compose file of the tree.
        for where in dict.fromkeys((base, "")):
            paths = [posixpath.normpath(posixpath.join(where, n)) for n in named]
            if all(p in self._files and self._is_compose(p) for p in paths):
                return tuple(dict.fromkeys(paths))
        return None
