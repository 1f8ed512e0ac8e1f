"""torch's native libraries are mapped with the GIL released before the first ``import torch`` (torch_preload.py)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from melodex_studio.torch_preload import LIBRARIES, preload_native_libraries, torch_lib_dir


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc dlopen and torch's lib/ layout")
def test_a_new_process_maps_torch_libraries_before_importing_torch_and_the_import_uses_them():
    code = textwrap.dedent("""
        import json, sys
        from melodex_studio.torch_preload import preload_native_libraries
        loaded = preload_native_libraries()
        maps = open("/proc/self/maps").read()
        before = {"loaded": loaded, "torch_imported": "torch" in sys.modules,
                  "mapped": [name for name in loaded if name in maps]}
        import torch
        before["works"] = float(torch.ones(3).sum())
        before["again"] = preload_native_libraries()
        print(json.dumps(before))
    """)
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] == list(LIBRARIES)
    assert got["mapped"] == list(LIBRARIES) and not got["torch_imported"]
    assert got["works"] == 3.0 and got["again"] == []  # torch imported: nothing more to do


def test_nothing_is_mapped_once_torch_is_imported():
    import torch  # noqa: F401

    assert torch_lib_dir() is not None and (torch_lib_dir() / "libtorch_cpu.so").exists() or sys.platform != "linux"
    assert preload_native_libraries() == []
