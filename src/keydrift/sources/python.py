"""Python deploy scripts and settings, through :mod:`ast` (never imported or run).

Recorded: string literals assigned to secret-like names, attributes, dict keys and keyword
arguments; ``os.environ[...] = "..."``; literal defaults of ``os.getenv`` /
``os.environ.get`` / ``setdefault``; and ``--set-env-vars`` / ``-e KEY=VAL`` arguments in string
literals or lists of them. A dict under an environment-named key (``{"staging": {...}}``) gives
its entries that environment.
"""

from __future__ import annotations

import ast
import re
import warnings
from bisect import bisect_left
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from keydrift.model.names import NameClassifier
from keydrift.model.types import CodeRead, FallbackKind, Location
from keydrift.sources._support.cliargs import pairs_from_args, split_command
from keydrift.sources._support.envinfer import environment_from_name
from keydrift.sources._support.prefilter import LinePrefilter
from keydrift.sources._support.pystatements import statement_source
from keydrift.sources._support.scriptsupport import ScriptCollector
from keydrift.sources.interface import ReadContext, Source, SourceResult, UnreadableFile

__all__ = ["PythonSource"]

_FLAGS = (
    rb"--set-env-vars|--update-env-vars|--env-vars|--from-literal"
    rb"|['\"](?:-e|--env)['\"]|\s(?:-e|--env)[= ]+\w+="
)


def _essential(names: str) -> bytes:
    """``names`` (a ``|``-joined regex fragment) lower-cased, without the plain-word
    alternatives that contain a shorter plain-word alternative.

    Every use below lets word characters run on either side of the name (``[\\w...]*``,
    ``\\w*``, ``[^\\n]*``), so ``jwt_secret_key`` matches wherever ``secret`` does: dropping it
    changes no line's verdict, and halves the alternatives ``re`` retries at every position
    (a differential test compares this against the full alternation).
    """
    parts = names.lower().split("|")
    plain = [p for p in parts if _PLAIN_WORD.fullmatch(p)]
    kept = [
        p for p in parts
        if not (_PLAIN_WORD.fullmatch(p) and any(q != p and q in p for q in plain))
    ]
    return "|".join(kept).encode()  # re.escape never escapes letters, digits or `_`


_PLAIN_WORD = re.compile(r"[a-z0-9_]+")


@lru_cache(maxsize=8)
def _prefilter(names: str) -> LinePrefilter:
    """Lines that can hold what this reader records: a secret-like name followed by ``=`` or
    ``:`` and a string literal (or an opening parenthesis / end of line: the literal follows),
    a secret-like name as a string argument (``getenv("JWT_SECRET", ...)``,
    ``environ["JWT_SECRET"]``), a ``"JWT_SECRET=..."`` argument, or a deploy flag."""
    n = _essential(names)  # matched on lower-cased bytes
    pattern = re.compile(
        # the alternatives that start at a name share it, so `re` tries the names once
        rb"(?:" + n + rb")(?:[\w\]'\"]*\s*(?::\s*\w+\s*)?"
        rb"(?:=\s*\(?\s*(?:[rbuf]{0,2}['\"]|$)|:\s*\(?\s*[rbuf]{0,2}['\"])"
        # a quoted dict key whose value is on the next line (a `class TokenService:` or
        # `if token:` line ends in a colon too, but holds nothing: it is not a candidate)
        + rb"|\w*['\"]\s*:\s*\(?\s*$"
        # a key made up per process: `SECRET_KEY = os.urandom(24)`, Field(default_factory=...)
        + rb"|[^\n]*(?:urandom|token_(?:hex|urlsafe|bytes)|uuid[14]|generate_key|"
        rb"get_random_\w+|default_factory))"
        + rb"|['\"][\w.-]*(?:" + n + rb")[\w.-]*['\"]\s*[,\]]"
        + rb"|['\"]\w*(?:" + n + rb")\w*="
        + rb"|" + _FLAGS
    )
    # `-e KEY=...` lines are found through the secret-like KEY itself.
    return LinePrefilter(
        pattern, (b"--set-env-vars", b"--update-env-vars", b"--env-vars", b"--from-literal"),
        on_lower=True,
    )


def candidate_lines(data: bytes, names: NameClassifier) -> set[int]:
    """1-based numbers of the lines worth walking (empty: nothing to parse)."""
    return _prefilter(names.name_pattern).lines(data, names.words)


_FLAG_HINT = ("--set-env-vars", "--update-env-vars", "--env-vars", "-e ", "--env", "--from-literal")


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _name_of(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return _const_str(target.slice)
    return None


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


# Calls whose result differs in every process: a fallback made of one is a per-process key.
_RANDOM_CALLS = re.compile(
    r"^(?:os\.urandom|urandom|secrets\.token_(?:hex|urlsafe|bytes)|token_(?:hex|urlsafe|bytes)|"
    r"secrets\.(?:choice|randbits)|uuid\.uuid[14]|uuid[14]|Fernet\.generate_key|"
    r"(?:django\.core\.management\.utils\.)?get_random_secret_key|get_random_string|"
    r"random\.\w+|(?:os\.)?getrandom)$"
)


def _call_name(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _random_source(node: ast.AST | None) -> str | None:
    """The random call an expression is made of (``os.urandom(32).hex()``), or None."""
    if node is None:
        return None
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _call_name(sub.func)
            if _RANDOM_CALLS.match(name):
                return name + "(...)"
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, collector: ScriptCollector) -> None:
        self.c = collector
        self.env_stack: list[str] = []

    # NodeVisitor's own visit/generic_visit look a method up by name and iterate fields through
    # a generator for every node; walking a settings module's statements spent more time there
    # than in the handlers. These do the same walk (a test compares them) with a handler table
    # and without visiting the context leaves (Load/Store) that no handler wants.
    def visit(self, node: ast.AST) -> Any:
        handler = _HANDLERS.get(node.__class__.__name__)
        if handler is None:
            self.generic_visit(node)
        else:
            handler(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                self.visit(value)

    @property
    def hint(self) -> str | None:
        return self.env_stack[-1] if self.env_stack else None

    def _code_read(self, variable: str | None, expression: str, line: int) -> None:
        self.c.result.code.append(CodeRead(
            variable=variable,
            fallback=FallbackKind.RANDOM,
            location=Location(self.c.path, line),
            expression=expression,
        ))

    def _env_read(self, node: ast.AST) -> str | None:
        """The variable an ``os.getenv("X")`` / ``os.environ.get("X")`` / ``environ["X"]`` reads."""
        if isinstance(node, ast.Call):
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else (
                func.id if isinstance(func, ast.Name) else "")
            receiver_ok = attr == "getenv" or (
                attr == "get" and isinstance(func, ast.Attribute) and _is_environ(func.value)
            )
            if receiver_ok and node.args:
                return _const_str(node.args[0])
        return None

    def _assign(self, targets: list[ast.expr], value: ast.AST | None, line: int) -> None:
        names = [n for n in (_name_of(t) for t in targets) if n]
        if value is not None and any(self.c.ctx.is_secret(n) for n in names):
            if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
                # `os.getenv("JWT_SECRET") or secrets.token_hex(32)`
                read = next((r for r in map(self._env_read, value.values) if r), None)
                random_part = _random_source(value.values[-1])
                if read and random_part:
                    self._code_read(read, random_part, line)
            elif self._env_read(value) is None and not isinstance(value, ast.Constant):
                random_part = _random_source(value)
                if random_part:
                    # `SECRET_KEY = os.urandom(24)`: a key generated at import time
                    self._code_read(None, random_part, line)
        text = _const_str(value)
        if text is None:
            return
        for target in targets:
            name = _name_of(target)
            if name is None:
                continue
            if isinstance(target, ast.Subscript) and _is_environ(target.value):
                note = f"os.environ[{name!r}] = ..."
            else:
                note = f"{name} = ..."
            self.c.add(name, text, line, note, env_hint=self.hint)

    def visit_Expr(self, node: ast.Expr) -> None:
        # A bare string statement is a docstring or comment: usage examples, not deploy commands.
        if _const_str(node.value) is None:
            self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assign(list(node.targets), node.value, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assign([node.target], node.value, node.lineno)
        self.field_name = _name_of(node.target)
        self.generic_visit(node)
        self.field_name = None

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            name = _const_str(key)
            if name is None:
                if value is not None:
                    self.visit(value)
                continue
            env = (
                environment_from_name(name, self.c.ctx.config.environments)
                if (isinstance(value, ast.Dict))
                else None
            )
            if env:
                self.env_stack.append(env)
                self.visit(value)
                self.env_stack.pop()
                continue
            text = _const_str(value)
            if text is not None:
                self.c.add(name, text, value.lineno, f"{name!r}: ...", env_hint=self.hint)
            else:
                self.visit(value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        attr = (
            func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else "")
        )
        if attr in ("getenv", "get") and node.args:
            receiver_ok = attr == "getenv" or (isinstance(func, ast.Attribute) and _is_environ(func.value))
            name = _const_str(node.args[0])
            fallback = node.args[1] if len(node.args) >= 2 else next(
                (kw.value for kw in node.keywords if kw.arg == "default"), None)
            random_part = _random_source(fallback)
            if receiver_ok and name and random_part and self.c.ctx.is_secret(name):
                self._code_read(name, random_part, node.lineno)
        if self._field_factory(node):
            return
        if attr in ("getenv", "get", "setdefault") and len(node.args) >= 2:
            receiver_ok = attr == "getenv" or (isinstance(func, ast.Attribute) and _is_environ(func.value))
            name = _const_str(node.args[0])
            default = _const_str(node.args[1])
            if receiver_ok and name and default is not None:
                self.c.add(
                    name, default, node.lineno, f"default of {attr}({name!r}, ...)", env_hint=self.hint
                )
        for kw in node.keywords:
            text = _const_str(kw.value)
            if kw.arg and text is not None:
                self.c.add(kw.arg, text, kw.value.lineno, f"{kw.arg}=...", env_hint=self.hint)
        self.generic_visit(node)

    def _field_factory(self, node: ast.Call) -> bool:
        """``Field(default_factory=lambda: secrets.token_urlsafe(32))`` on a settings field."""
        if _call_name(node.func).rsplit(".", 1)[-1] != "Field":
            return False
        factory = next((kw.value for kw in node.keywords if kw.arg == "default_factory"), None)
        random_part = _random_source(factory) or (
            _call_name(factory) + "()" if factory is not None
            and _RANDOM_CALLS.match(_call_name(factory)) else None
        )
        if random_part and self.field_name and self.c.ctx.is_secret(self.field_name):
            alias = next((_const_str(kw.value) for kw in node.keywords
                          if kw.arg in ("alias", "validation_alias", "env")), None)
            self._code_read(alias or self.field_name.upper(), random_part, node.lineno)
        return False

    field_name: str | None = None

    def visit_List(self, node: ast.List) -> None:
        self._argv(node.elts, node.lineno)
        self.generic_visit(node)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        self._argv(node.elts, node.lineno)
        self.generic_visit(node)

    def _argv(self, elts: list[ast.expr], line: int) -> None:
        args = [_const_str(e) for e in elts]
        if len(args) < 2 or not any(a and a.startswith("-") for a in args):
            return
        words = [a if a is not None else "\0" for a in args]
        pairs = pairs_from_args(words)
        if pairs:
            self.c.add_cli(words, pairs, line)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._command_text(node.value, node.lineno)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._command_text(_flatten(node), node.lineno)  # parts are not visited on their own

    def visit_BinOp(self, node: ast.BinOp) -> None:
        flat = _flatten(node)
        if flat is None:
            self.generic_visit(node)
        else:
            self._command_text(flat, node.lineno)

    def _command_text(self, text: str | None, line: int) -> None:
        if text and "=" in text and any(f in text for f in _FLAG_HINT):
            words = split_command(text)
            pairs = pairs_from_args(words)
            if pairs:
                self.c.add_cli(words, pairs, line)


_HANDLERS: Mapping[str, Callable[[_Visitor, Any], None]] = MappingProxyType({
    name.removeprefix("visit_"): handler
    for name, handler in vars(_Visitor).items()
    if name.startswith("visit_")
})


def _flatten(node: ast.AST) -> str | None:
    """A string expression as text, with ``$(expr)`` where a value is computed at run time
    (f-string fields, ``"KEY=" + value``), so such values read as references, not literals."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            text = _flatten(value) if isinstance(value, ast.Constant) else "$(expr)"
            parts.append(text or "")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _flatten(node.left), _flatten(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else "$(expr)") + (
            right if right is not None else "$(expr)"
        )
    return None


def _pruned(body: list[ast.stmt], lines: set[int] | list[int]) -> list[ast.AST]:
    wanted = lines if isinstance(lines, list) else sorted(lines)
    out: list[ast.AST] = []
    for stmt in body:
        end = stmt.end_lineno or stmt.lineno
        k = bisect_left(wanted, stmt.lineno)  # a candidate line within the statement?
        if k == len(wanted) or wanted[k] > end:
            continue
        inner = [
            getattr(stmt, name)
            for name in ("body", "orelse", "finalbody", "handlers")
            if isinstance(getattr(stmt, name, None), list)
        ]
        if inner and end - stmt.lineno > 20:
            # a long class/def/if: descend so only the relevant inner statements are walked
            for field in ("decorator_list", "bases", "keywords", "targets", "value", "test",
                          "iter", "items", "args"):
                value = getattr(stmt, field, None)
                if isinstance(value, ast.AST):
                    out.append(value)
                elif isinstance(value, list):
                    out.extend(v for v in value if isinstance(v, ast.AST))
            for block in inner:
                out.extend(_pruned([s for s in block if isinstance(s, ast.stmt)], wanted))
                for handler in block:
                    if isinstance(handler, ast.ExceptHandler):
                        out.extend(_pruned(handler.body, wanted))
        else:
            out.append(stmt)
    return out


# Below this size a module is parsed whole: cutting it down would save less than it costs.
_CUT_MIN_CHARS = 16 * 1024


def _parse(text: str, path: str, lines: set[int]) -> ast.Module:
    """The module's tree, or one holding only the top-level statements that span ``lines``
    (node for node the same, since nothing else is walked; see :mod:`pystatements`). A
    syntax error elsewhere in a large module therefore hides nothing that can be read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes in old code
        if len(text) >= _CUT_MIN_CHARS:
            cut = statement_source(text, lines)
            if cut is not None:
                try:
                    return ast.parse(cut, filename=path)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    pass  # the whole file decides, as if it had not been cut
        try:
            return ast.parse(text, filename=path)
        except SyntaxError as exc:
            raise UnreadableFile("not valid Python (syntax error)", exc.lineno) from None
        except (ValueError, RecursionError, MemoryError):
            raise UnreadableFile("not parseable as Python") from None


class PythonSource(Source):
    """``*.py`` files that mention secrets."""

    kind = "python"
    max_bytes = 5 * 1024 * 1024
    priority = 50

    def matches(self, path: str) -> bool:
        return path.endswith(".py")

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return _prefilter(names.name_pattern).any(data, names.words)

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        lines = candidate_lines(text.encode("utf-8", "surrogatepass"), ctx.names)
        if not lines:
            return SourceResult()
        tree = _parse(text, path, lines)
        collector = ScriptCollector(path, ctx, self.kind)
        visitor = _Visitor(collector)
        # Only statements that span a candidate line are walked: parsing is C, walking is not.
        for node in _pruned(tree.body, lines):
            visitor.visit(node)
        return collector.finish()
