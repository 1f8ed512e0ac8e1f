"""Load torch's native libraries without holding the GIL, before the first ``import torch`` of the process.

``import torch`` maps ``libtorch_cpu.so`` (~400 MB) with ``dlopen``, which CPython calls with the GIL held:
every other thread of the process (the window's GUI thread, the audio callback) stood still for 250-300 ms
at the first model job. ``dlopen`` called through ctypes' foreign-function interface releases the GIL; the
library is then already mapped when the import asks for it, and the import's own ``dlopen`` only counts a
reference. Linux only (glibc's ``dlopen`` and torch's ``lib/`` layout); elsewhere, or if anything is off,
it does nothing and the import loads the library as before.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

LIBRARIES = ("libc10.so", "libtorch_cpu.so")  # what torch/_C links to, in dependency order; the big one last


def torch_lib_dir() -> Path | None:
    """torch's ``lib`` folder, found without importing torch."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "lib"


def preload_native_libraries() -> list[str]:
    """Map torch's native libraries with the GIL released; returns the ones mapped here (none once torch is
    imported, off Linux, or where the files are not found)."""
    if "torch" in sys.modules or not sys.platform.startswith("linux"):
        return []
    lib_dir = torch_lib_dir()
    if lib_dir is None:
        return []
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen  # a CDLL function: ctypes releases the GIL for the call
    except (OSError, AttributeError):
        return []
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for name in LIBRARIES:
        path = lib_dir / name
        if not path.is_file() or not dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_GLOBAL):
            break  # a dependency missing: leave the rest to the import, which reports it
        loaded.append(name)
    return loaded
