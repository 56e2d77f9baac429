"""YAML to plain containers that remember line numbers, with limits for hostile input.

PyYAML's composer (C-accelerated with ``CSafeLoader``) gives nodes with marks; we convert nodes
ourselves instead of constructing objects so that every mapping keeps each key's line, duplicate
keys are caught (PyYAML keeps the last one silently, compose and kubectl refuse them), and alias
expansion is bounded (a "billion laughs" document is a few hundred bytes of nested aliases).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from keydrift.sources.interface import UnreadableFile

__all__ = ["MAX_NODES", "LMap", "LSeq", "iter_yaml", "line_of", "load_empty", "scalar_text"]

try:  # the C loader is ~10x faster; the pure-Python one behaves the same
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# Nodes visited per document after alias expansion; real manifests have a few thousand.
MAX_NODES = 200_000
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


class LMap(dict[Any, Any]):
    """A mapping with ``line`` (1-based) and ``key_lines``; ``texts`` keeps scalars as written."""

    line: int
    key_lines: dict[Any, int]
    texts: dict[Any, str]


class LSeq(list[Any]):
    """A sequence with ``line`` and ``item_lines`` (1-based)."""

    line: int
    item_lines: list[int]
    texts: list[str | None]


def load_empty() -> LMap:
    """An empty mapping with the attributes :func:`iter_yaml` mappings have."""
    out = LMap()
    out.line = 1
    out.key_lines = {}
    out.texts = {}
    return out


def line_of(container: Any, key: Any = None) -> int | None:
    """The line of ``container[key]`` (or of the container when ``key`` is None)."""
    if key is None:
        return getattr(container, "line", None)
    if isinstance(container, LMap):
        return container.key_lines.get(key, container.line)
    if isinstance(container, LSeq) and isinstance(key, int) and 0 <= key < len(container):
        return container.item_lines[key]
    return None


def scalar_text(container: Any, key: Any) -> str | None:
    """``container[key]`` as the text written in the file (``None`` for null or non-scalars)."""
    value = container[key]
    if value is None or isinstance(value, LMap | LSeq):
        return None
    if isinstance(container, LMap | LSeq):
        texts = container.texts
        text = texts.get(key) if isinstance(texts, dict) else texts[key]
        if text is not None:
            return text
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def iter_yaml(text: str) -> Iterator[Any]:
    """Every document of ``text`` as :class:`LMap` / :class:`LSeq` / scalars, one at a time (a
    ``kubectl get -A -o yaml`` dump holds thousands; only one document's nodes are in memory at
    once). Raises :class:`UnreadableFile` with a one-line reason that never quotes content."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            budget = [MAX_NODES]
            yield _convert(node, budget)
    except UnreadableFile:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "syntax error").split("\n")[0]
        if "\t" in problem or "'\\t'" in problem or _tab_at(text, mark):
            problem = "a tab character where YAML allows only spaces"
        raise UnreadableFile(f"invalid YAML: {_safe_problem(problem)}", line) from None
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"invalid YAML: {type(exc).__name__}") from None
    except RecursionError:
        raise UnreadableFile("YAML nested too deeply") from None


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


def _convert(node: yaml.Node, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise UnreadableFile(
            f"YAML alias bomb: more than {MAX_NODES} nodes after expanding aliases",
            node.start_mark.line + 1,
        )
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        seq = LSeq()
        seq.line = node.start_mark.line + 1
        seq.item_lines = []
        seq.texts = []
        for item in node.value:
            seq.append(_convert(item, budget))
            seq.item_lines.append(item.start_mark.line + 1)
            seq.texts.append(item.value if isinstance(item, yaml.ScalarNode) else None)
        return seq
    if isinstance(node, yaml.MappingNode):
        out = LMap()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.texts = {}
        merged: list[LMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                value = _convert(value_node, budget)
                merged.extend(
                    v for v in (value if isinstance(value, list) else [value]) if isinstance(v, LMap)
                )
                continue
            key = _convert(key_node, budget)
            if isinstance(key, list | dict):
                continue  # complex keys never matter to compose or Kubernetes
            if key in out:
                name = key if isinstance(key, str) and key.isidentifier() and len(key) < 60 else None
                what = f"duplicate key {name!r}" if name else "duplicate key"
                raise UnreadableFile(
                    f"{what} (line {key_node.start_mark.line + 1}); compose and kubectl refuse it",
                    key_node.start_mark.line + 1,
                )
            out[key] = _convert(value_node, budget)
            out.key_lines[key] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.ScalarNode):
                out.texts[key] = value_node.value
        # `<<: *anchor` merges keys the mapping does not set itself (YAML merge key).
        for source in merged:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    out.key_lines[key] = source.key_lines.get(key, source.line)
                    if key in source.texts:
                        out.texts[key] = source.texts[key]
        return out
    return None  # pragma: no cover - no other node kinds


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    value: str = node.value
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
