"""Package namespaces whose public names are imported on first use (PEP 562).

A stage package re-exports its public names so that they can be found, but importing the
package must not import every module of it: ``import handeval.shards`` must not start torch
because ``HandFrames`` lives there, nor ``import handeval`` every stage. Each package's
``__init__`` therefore names where each of its public names lives, and this module resolves
a name when it is first asked for.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``exports`` maps each public name to the submodule that defines it, relative to the
    package (``"reader"``), or to ``"submodule:attribute"`` where the public name is another
    name for it. No public name may be the name of a submodule: importing that submodule
    would replace the package's attribute with the module.
    """
    where = {name: target.partition(":")[::2] for name, target in exports.items()}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where[name]
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        setattr(sys.modules[package], name, value)  # later lookups do not come back here
        return value

    def __dir__() -> list[str]:
        # The public names and the dunders, not what the package's own imports leave behind.
        return sorted(set(where) | {n for n in vars(sys.modules[package]) if n.startswith("__")})

    return __getattr__, __dir__, sorted(where)


def resolve(target: str):
    """The object a ``"module:attribute"`` string names, importing the module on first use: how a
    registry entry or a job names code without importing it, and a worker finds it again."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
