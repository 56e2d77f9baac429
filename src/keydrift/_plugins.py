"""Discovery for extension points: one module per plugin, found by scanning the package.

Sources, rules and presets each live in a folder where adding a file needs no change elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def discover(
    package: str,
    base: type[T],
    *,
    skip: Iterable[str] = ("interface",),
    accept: Callable[[type[T]], bool] = lambda cls: True,
) -> list[T]:
    """One instance of every subclass of ``base`` defined in a module of ``package``.

    Modules named in ``skip`` or starting with ``_`` are helpers, not plugins. Only classes
    defined in the module itself count, so a plugin module may import another's class.
    """
    pkg = importlib.import_module(package)
    skipped = set(skip)
    found: list[T] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name in skipped or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, base)
                and obj is not base
                and obj.__module__ == module.__name__
                and accept(obj)
            ):
                found.append(obj())
    return found


def registry(package: str, base: type[T], what: str, key: Callable[[T], str]) -> dict[str, T]:
    """Every plugin of ``package`` by ``key`` (its id), sorted; two plugins with one id are a bug."""
    found: dict[str, T] = {}
    for plugin in discover(package, base):
        ident = key(plugin)
        if ident in found:
            raise RuntimeError(f"two {what} with id {ident!r}")
        found[ident] = plugin
    return {k: found[k] for k in sorted(found)}
