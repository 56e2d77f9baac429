"""Shell scripts (``*.sh``, ``*.bash``, ``.envrc`` ...): ``export NAME=value``, ``NAME=value``
and deploy command lines with ``--set-env-vars`` / ``-e KEY=VAL``, split with :mod:`shlex`.

Values built at run time (``$(openssl rand ...)``, backticks, ``$OTHER`` not set earlier in the
script) are recorded as references (``value=None``), not as literals.
"""

from __future__ import annotations

import re

from keydrift.model.names import NameClassifier
from keydrift.sources._support.cliargs import logical_lines, pairs_from_args, split_command
from keydrift.sources._support.envinfer import ENVIRONMENT_VARIABLES
from keydrift.sources._support.interpolation import interpolate
from keydrift.sources._support.prefilter import LinePrefilter
from keydrift.sources._support.scriptsupport import ScriptCollector
from keydrift.sources.interface import ReadContext, Source, SourceResult

__all__ = ["ShellSource"]

_SHELL_EXT = (".sh", ".bash", ".zsh", ".ksh")
_SHELL_NAMES = frozenset({".envrc", ".profile", ".bashrc", ".zshrc"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PREFIX_WORDS = frozenset({"export", "declare", "readonly", "local", "-x", "-r", "env"})
_PLAIN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\S*)$")
_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}")
_FLAG_TEXT = r"--set-env-vars|--update-env-vars|--env-vars|--from-literal|\s-e\s|--env[= ]"
# A line with a secret-like word (or a deploy flag) and an `=` is worth splitting.
_PREFILTER = LinePrefilter(
    re.compile(rb"="), (b"--set-env-vars", b"--update-env-vars", b"--env-vars", b"--from-literal")
)


class ShellSource(Source):
    kind = "shell"
    max_bytes = 2 * 1024 * 1024
    priority = 60

    def matches(self, path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return name.endswith(_SHELL_EXT) or name in _SHELL_NAMES

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return _PREFILTER.any(data, names.words)

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        collector = ScriptCollector(path, ctx, self.kind)
        known: dict[str, str] = {}
        interesting = re.compile(f"(?i){ctx.names.name_pattern}|{_FLAG_TEXT}")
        for line_no, line in logical_lines(text):
            stripped = line.strip()
            if "=" not in stripped or stripped.startswith("#"):
                continue
            if not interesting.search(stripped):
                # Not secret-like, but a plain assignment may feed a later `$NAME`: keep it
                # without paying for shlex.
                m = _PLAIN.match(stripped)
                if m:
                    known[m.group(1)] = m.group(2).strip("'\"")
                    if m.group(1) in ENVIRONMENT_VARIABLES:
                        collector.add(m.group(1), known[m.group(1)], line_no, "")
                continue
            words = split_command(stripped)
            if not words:
                continue
            i = 0
            while i < len(words) and words[i] in _PREFIX_WORDS:
                i += 1
            while i < len(words) and _ASSIGN.match(words[i]):
                name, _, value = words[i].partition("=")
                resolved = self._value(value, known)
                # `JWT_SECRET=${JWT_SECRET:-literal}`: the literal is what runs wherever the
                # variable is not exported.
                fallback = _DEFAULT.fullmatch(value)
                default = bool(
                    fallback and fallback.group(1) not in known and "$" not in fallback.group(2)
                )
                if resolved is not None:
                    known[name] = resolved
                collector.add(
                    name, resolved, line_no, f"{name}=...",
                    literal=resolved is not None and ("$" not in value or default),
                    default=default,
                )
                i += 1
            pairs = pairs_from_args(words)
            if pairs:
                collector.add_cli(words, pairs, line_no)
        return collector.finish()

    @staticmethod
    def _value(value: str, known: dict[str, str]) -> str | None:
        if "$(" in value or "`" in value:
            return None  # computed when the script runs
        if "$" not in value:
            return value
        result = interpolate(value.replace("$$", "\0"), known.get)
        if result.missing and not result.text.strip("\0"):
            return None
        if (
            result.missing
            and all(f"${{{m}}}" in value or f"${m}" in value for m in result.missing)
            and not re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-", value)
        ):
            return None
        return result.text.replace("\0", "$$")
