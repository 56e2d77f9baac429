"""YAML to plain containers that remember line numbers, with limits for hostile input.

PyYAML's composer (C-accelerated with ``CSafeLoader``) gives nodes with marks; we convert nodes
ourselves instead of constructing objects so that every mapping keeps each key's line, duplicate
keys are caught (PyYAML keeps the last one silently, compose and kubectl refuse them), and alias
expansion is bounded (a "billion laughs" document is a few hundred bytes of nested aliases).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import yaml

from keydrift.sources.interface import UnreadableFile

__all__ = ["MAX_NODES", "LMap", "LSeq", "iter_yaml", "line_of", "load_empty", "scalar_text"]

try:  # the C loader is ~10x faster; the pure-Python one behaves the same
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# Nodes visited again through aliases, per document. Each node's first visit is free (the
# document's own size bounds those); only what an alias repeats counts, so a large file with no
# aliases (60,000 compose services) is read, while a "billion laughs" document is refused.
MAX_NODES = 200_000
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_KNOWN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "null", "bool", "int", "float", "timestamp", "value")
)


class LMap(dict[Any, Any]):
    """A mapping with ``line`` (1-based) and its keys' lines (:func:`line_of`); ``texts`` keeps
    scalars as written where that differs from the value."""

    # No per-instance __dict__: a 60,000-service compose file is 180,000 of these. ``texts``
    # holds only the scalars whose value is not their own text (numbers, booleans): a string
    # value is its text, so most mappings share the empty _NO_TEXTS instead of a dict each.
    # ``key_lines`` is a list in key order rather than a dict per mapping (the mappings are
    # never changed once read); a large mapping gets a key index on first look-up.
    __slots__ = ("_index", "key_lines", "line", "texts")
    line: int
    key_lines: list[int]
    texts: Mapping[Any, str]
    _index: dict[Any, int] | None

    def key_line(self, key: Any) -> int:
        """The line of ``key`` (the mapping's own line for a key it does not have)."""
        if len(self) <= _SCAN_KEYS:
            for candidate, number in zip(self, self.key_lines, strict=True):
                if candidate == key:
                    return number
            return self.line
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self)}
        at = self._index.get(key)
        return self.line if at is None else self.key_lines[at]


class LSeq(list[Any]):
    """A sequence with ``line`` and ``item_lines`` (1-based)."""

    __slots__ = ("item_lines", "line", "texts")
    line: int
    item_lines: list[int]
    texts: list[str | None]


_NO_TEXTS: Mapping[Any, str] = MappingProxyType({})
_SCAN_KEYS = 16  # up to this many keys a scan is cheaper than an index


def _set_text(mapping: LMap, key: Any, value: Any, text: str) -> None:
    """Keep ``text`` for ``mapping[key]`` unless the value is a string (then it is the text) or
    null (:func:`scalar_text` never asks)."""
    if value is None or isinstance(value, str):
        return
    texts = mapping.texts if isinstance(mapping.texts, dict) else {}
    texts[key] = text
    mapping.texts = texts


def load_empty() -> LMap:
    """An empty mapping with the attributes :func:`iter_yaml` mappings have."""
    out = LMap()
    out.line = 1
    out.key_lines = []
    out.texts = _NO_TEXTS
    out._index = None
    return out


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of ``container[key]`` (or of the container when ``key`` is None)."""
    if key is None:
        return getattr(container, "line", None)
    if isinstance(container, LMap):
        return container.key_line(key)
    if isinstance(container, LSeq) and isinstance(key, int) and 0 <= key < len(container):
        return container.item_lines[key]
    return None


def scalar_text(container: Any, key: Any) -> str | None:
    """``container[key]`` as the text written in the file (``None`` for null or non-scalars)."""
    value = container[key]
    if value is None or isinstance(value, LMap | LSeq):
        return None
    if isinstance(container, LMap):
        text = container.texts.get(key)
        if text is not None:
            return text
    elif isinstance(container, LSeq):
        item_text: str | None = container.texts[key]
        if item_text is not None:
            return item_text
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def iter_yaml(text: str) -> Iterator[Any]:
    """Every document of ``text`` as :class:`LMap` / :class:`LSeq` / scalars, one at a time (a
    ``kubectl get -A -o yaml`` dump holds thousands; only one document's nodes are in memory at
    once). Raises :class:`UnreadableFile` with a one-line reason that never quotes content.

    Documents that are plain block mappings of simple scalars (most Kubernetes Secrets and
    ConfigMaps, many compose files) are read by :func:`_simple_document`; the rest by PyYAML.
    Why: PyYAML builds and resolves a Python object per node and event, which made 100,000
    Secret documents (9 MB) take ~15 s of CPU. The simple reader accepts only a strict subset
    whose meaning is unambiguous and hands anything else to PyYAML; a differential test
    (``tests/sources/test_yamlnodes.py``) shows the same result as PyYAML on generated documents.
    """
    if _UNSIMPLE.search(text):
        yield from _pyyaml(text, 0)
        return
    cache: dict[str, Any] = {}
    try:
        for start, chunk in _documents(text):
            doc = _simple_document(chunk, start, cache)
            if doc is _NOT_SIMPLE:
                yield from _pyyaml(chunk, start)
            elif doc is _EMPTY:
                yield None
            elif doc is not None:
                yield doc
    except UnreadableFile:
        # Report the error exactly as reading the whole stream with PyYAML does.
        for _ in _pyyaml(text, 0):
            pass
        raise


def _pyyaml(text: str, start: int) -> Iterator[Any]:
    """PyYAML's documents of ``text``, which begins at 0-based line ``start`` of the file."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            yield _convert(node, _Budget(start + 1))
    except UnreadableFile:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + start if mark is not None else None
        problem = (exc.problem or exc.context or "syntax error").split("\n")[0]
        if "\t" in problem or "'\\t'" in problem or _tab_at(text, mark):
            problem = "a tab character where YAML allows only spaces"
        raise UnreadableFile(f"invalid YAML: {_safe_problem(problem)}", line) from None
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"invalid YAML: {type(exc).__name__}") from None
    except RecursionError:
        raise UnreadableFile("YAML nested too deeply") from None


# Anything that makes line splitting or document splitting less than obvious: carriage
# returns, tabs, directives, document end markers, and exotic line breaks.
_UNSIMPLE = re.compile(r"[\r\t\x85\u2028\u2029\ufeff]|^%|^\.\.\.", re.MULTILINE)
_MARKER = re.compile(r"^---(?=[ \n]|$)", re.MULTILINE)
_NOT_SIMPLE = object()
_EMPTY = object()
# `KEY:` or `KEY: VALUE` with ASCII keys, and values that are plain scalars without `: `, ` #`
# or indicators up front, or one-line quoted scalars without escapes.
_PLAIN_FIRST = r"[^\x00-\x20\x7f\-?:,\[\]{}#&*!|>'\"%@`]"
_PLAIN_REST = r"(?:[^\x00-\x20\x7f:#]|:(?! |$)|(?<! )#| (?![ #]|$))*"
_LINE = re.compile(
    r"( *)([A-Za-z_][A-Za-z0-9_./-]*):(?: +(?:"
    + r"(" + _PLAIN_FIRST + _PLAIN_REST + r")"  # plain
    + r"|'([ -&(-~]*)'"  # single-quoted, without '' escapes
    + r'|"([ !#-\[\]-~]*)"'  # double-quoted, without escapes
    + r"))? *"
)
_BLANK = re.compile(r" *(?:#.*)?")
_RESOLVER = yaml.resolver.Resolver()
# PyYAML picks implicit resolvers by a scalar's first character (None: for any character).
_RESOLVER_FIRST: frozenset[str] = (
    frozenset(k for k in _RESOLVER.yaml_implicit_resolvers if k)
    if None not in _RESOLVER.yaml_implicit_resolvers
    else frozenset(chr(c) for c in range(128))
)


def _documents(text: str) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` of each document, split at ``---`` lines (column 0)."""
    starts = [m.start() for m in _MARKER.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 0
    for i, begin in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        chunk = text[begin:end]
        yield line, chunk
        line += chunk.count("\n")


def _simple_document(chunk: str, start: int, cache: dict[str, Any] | None = None) -> Any:
    """The document in ``chunk`` if it is a block mapping of simple scalars (``None`` if it is
    empty), else ``_NOT_SIMPLE``."""
    lines = chunk.split("\n")
    first = 0
    if lines[0].startswith("---"):
        if lines[0] != "---":
            return _NOT_SIMPLE  # content or a comment after the marker
        first = 1
    if not chunk.isascii():
        return _NOT_SIMPLE
    root: LMap | None = None
    # open mappings: (indent, mapping); `pending` is a key whose value is on the next lines
    stack: list[tuple[int, LMap]] = []
    pending: tuple[LMap, Any, int, int] | None = None  # mapping, key, key's indent, line
    cache = {} if cache is None else cache
    for index in range(first, len(lines)):
        raw = lines[index]
        number = start + index + 1
        m = _LINE.fullmatch(raw)
        if m is None:
            if _BLANK.fullmatch(raw):
                continue
            return _NOT_SIMPLE
        indent = len(m.group(1))
        if pending is not None:
            owner, pkey, pindent, _ = pending
            pending = None
            if indent > pindent:
                child = _new_map(number)
                owner[pkey] = child
                stack.append((indent, child))
            else:
                owner[pkey] = None
        if root is None:
            if indent != 0:
                return _NOT_SIMPLE
            root = _new_map(number)
            stack.append((0, root))
        while stack and indent < stack[-1][0]:
            stack.pop()
        if not stack or indent != stack[-1][0]:
            return _NOT_SIMPLE
        mapping = stack[-1][1]
        key = _plain(m.group(2), cache)
        if key in mapping or key is _NOT_SIMPLE:
            return _NOT_SIMPLE  # PyYAML's path reports duplicates
        mapping.key_lines.append(number)  # the key is set below, in the same order
        plain, single, double = m.group(3), m.group(4), m.group(5)
        if plain is not None:
            value = _plain(plain, cache)
            if value is _NOT_SIMPLE:
                return _NOT_SIMPLE
            mapping[key] = value
            _set_text(mapping, key, value, plain)
        elif single is not None or double is not None:
            mapping[key] = single if single is not None else double
        else:
            mapping[key] = None  # set for now; the next lines may give a nested mapping
            pending = (mapping, key, indent, number)
    if pending is not None:
        owner, pkey, _, _ = pending
        owner[pkey] = None
    if root is None and first:
        return _EMPTY  # an explicit empty document: PyYAML gives a null scalar
    return root


def _new_map(line: int) -> LMap:
    out = LMap()
    out.line = line
    out.key_lines = []
    out.texts = _NO_TEXTS
    out._index = None
    return out


def _plain(text: str, cache: dict[str, Any]) -> Any:
    """A plain scalar typed as PyYAML types it (YAML 1.1 implicit resolvers)."""
    if text[0] not in _RESOLVER_FIRST:
        return text  # no implicit resolver starts with this character: a string
    if text in cache:
        return cache[text]
    tag: str = _RESOLVER.resolve(  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        yaml.ScalarNode, text, (True, False)
    )
    value = _typed(tag, text) if tag in _KNOWN_TAGS else _NOT_SIMPLE
    if len(cache) < 4096:
        cache[text] = value
    return value


def _tab_at(text: str, mark: Any) -> bool:
    # libyaml's message does not name the character; look at what the mark points at.
    if mark is None:
        return False
    index = getattr(mark, "index", None)
    if isinstance(index, int) and 0 <= index < len(text) and text[index] == "\t":
        return True
    lines = text.split("\n", mark.line + 1)
    line = mark.line
    return bool(line < len(lines) and lines[line][: mark.column + 1].strip(" ").startswith("\t"))


def _safe_problem(problem: str) -> str:
    # PyYAML problems are fixed phrases plus at most one quoted character; keep them short and
    # drop anything that could carry file content.
    return problem[:80]


class _Budget:
    """Alias expansion left for one document: ``seen`` holds the ids of nodes already
    converted; converting one of them again (and everything under it) is an expansion."""

    def __init__(self, offset: int = 1) -> None:
        self.left = MAX_NODES
        self.seen: set[int] = set()
        self.offset = offset  # added to PyYAML's 0-based line numbers


def _convert(node: yaml.Node, budget: _Budget, repeated: bool = False) -> Any:
    if not repeated and not isinstance(node, yaml.ScalarNode):
        key = id(node)  # nodes live as long as the document's graph: ids are not reused
        if key in budget.seen:
            repeated = True
        else:
            budget.seen.add(key)
    if repeated:
        budget.left -= 1
        if budget.left < 0:
            raise UnreadableFile(
                f"YAML alias bomb: more than {MAX_NODES} nodes after expanding aliases",
                node.start_mark.line + budget.offset,
            )
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        seq = LSeq()
        seq.line = node.start_mark.line + budget.offset
        seq.item_lines = []
        seq.texts = []
        for item in node.value:
            seq.append(_convert(item, budget, repeated))
            seq.item_lines.append(item.start_mark.line + budget.offset)
            seq.texts.append(item.value if isinstance(item, yaml.ScalarNode) else None)
        return seq
    if isinstance(node, yaml.MappingNode):
        out = _new_map(node.start_mark.line + budget.offset)
        merged: list[LMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                value = _convert(value_node, budget, repeated)
                merged.extend(
                    v for v in (value if isinstance(value, list) else [value]) if isinstance(v, LMap)
                )
                continue
            key = _convert(key_node, budget, repeated)
            if isinstance(key, list | dict):
                continue  # complex keys never matter to compose or Kubernetes
            if key in out:
                name = key if isinstance(key, str) and key.isidentifier() and len(key) < 60 else None
                what = f"duplicate key {name!r}" if name else "duplicate key"
                line = key_node.start_mark.line + budget.offset
                raise UnreadableFile(f"{what} (line {line}); compose and kubectl refuse it", line)
            out[key] = _convert(value_node, budget, repeated)
            out.key_lines.append(key_node.start_mark.line + budget.offset)
            if isinstance(value_node, yaml.ScalarNode):
                _set_text(out, key, out[key], value_node.value)
        # `<<: *anchor` merges keys the mapping does not set itself (YAML merge key).
        for source in merged:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.key_lines.append(source.key_line(key))
                    if key in source.texts:
                        _set_text(out, key, value, source.texts[key])
        return out
    return None  # pragma: no cover - no other node kinds


def _scalar(node: yaml.ScalarNode) -> Any:
    return _typed(node.tag, node.value)


def _typed(tag: str, value: str) -> Any:
    if tag == _STR:
        return value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return value.lower() in ("yes", "true", "on", "y")
    if tag.endswith(":int"):
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            try:
                return int(value.replace("_", ""), 10)
            except ValueError:
                return value
    if tag.endswith(":float"):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value
