"""Loading the pickles datasets ship (MANO models, HO3D and HIC meta files) without running code.

Only numpy arrays and scalars, plain containers, and classes the caller maps to inert
stubs may be created; any other global is refused, so a pickle cannot execute code.
Python-2 pickles load with latin-1 strings, as the datasets' own loaders do.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}
# Protocol-2 pickles written by Python 3 encode bytes with _codecs.encode.
_SAFE_GLOBALS = {
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
    ("__builtin__", "object"), ("builtins", "object"), ("_codecs", "encode"),
}


class Stub:
    """Stand-in for a foreign class: keeps the constructor args and the pickled state only."""

    module = ""
    name = ""

    def __init__(self, *args):
        self.args = args
        self.state = None

    def __setstate__(self, state):
        self.state = state


def stub_class(module: str, name: str) -> type:
    return type(name, (Stub,), {"module": module, "name": name})


class RestrictedUnpickler(pickle.Unpickler):
    """Numpy, plain containers, and stubs for modules in ``stub_modules``; nothing else."""

    def __init__(self, file, stub_modules: tuple[str, ...] = ()):
        super().__init__(file, encoding="latin1")
        self.stub_modules = stub_modules
        self.stubbed: set[str] = set()

    def find_class(self, module, name):
        if any(module == m or module.startswith(m + ".") for m in self.stub_modules):
            self.stubbed.add(module.split(".")[0])
            return stub_class(module, name)
        if (module, name) in _NUMPY_GLOBALS:
            module = module.replace("numpy.core", "numpy._core") if hasattr(np, "_core") else module
            return super().find_class(module, name)
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load class {module}.{name}")


def load(path: str | Path, stub_modules: tuple[str, ...] = ()) -> tuple[object, set[str]]:
    """Unpickle ``path``; returns the object and the top-level modules that were stubbed."""
    with open(path, "rb") as fh:
        unpickler = RestrictedUnpickler(fh, stub_modules)
        return unpickler.load(), unpickler.stubbed
