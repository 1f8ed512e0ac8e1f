"""Fuzzing the model loaders: mutations of tiny codec, renderer and structure checkpoints (as tests/engine makes
them) end in a clean ModelError or a model whose weights are finite, within the harness's time and memory
bounds, without touching the file. Mutations: bytes anywhere, config fields set to hostile values, tensor
entries of the header (dtype, shape, offsets) rewritten. See tests/fuzz/harness.py."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from melodex_studio.render.diffusion import load_codec, load_dit
from melodex_studio.structure.checkpoint import load_checkpoint
from tests.engine.session_helpers import write_tiny_models

from .harness import Quiet, Stats, byte_mutations, check_one, fuzz_settings, mutate

LOADERS = {"codec": load_codec, "renderer": load_dit, "structure": lambda p: load_checkpoint(p)[0]}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    paths = write_tiny_models(tmp_path_factory.mktemp("models"))
    files = {k: paths[k].read_bytes() for k in LOADERS}
    stats = Stats("model loaders")
    yield Quiet((files, stats))
    stats.write()


def split(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + body


HOSTILE = (st.sampled_from([0, -1, 1, 2, 3, 7, 10**9, 2**63, 0.0, -0.0, 1e-30, 1e30, float("nan"), float("inf"), "",
                            "direct", "integrate", "spiral", None, True, False, [], {}, [1, 2]])
           | st.integers(-10, 100_000) | st.floats() | st.text(max_size=8))


@st.composite
def header_edit(draw, header: dict):
    """('config', field, value) | ('meta', key, value) | ('tensor', name, field, value) | ('drop', name)."""
    meta = header.get("__metadata__", {})
    config = json.loads(meta.get("config", "{}"))
    tensors = sorted(k for k in header if k != "__metadata__")
    kind = draw(st.sampled_from(["config", "config", "config", "meta", "tensor", "drop"]))
    if kind == "config":
        return ("config", draw(st.sampled_from(sorted(config) + ["unknown_field"])), draw(HOSTILE))
    if kind == "meta":
        return ("meta", draw(st.sampled_from(sorted(meta))), draw(st.sampled_from(["", "{", "codec", "renderer", "[]",
                                                                                     "melodex-structure", "null"])))
    name = draw(st.sampled_from(tensors))
    if kind == "drop":
        return ("drop", name)
    field = draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
    value = {"dtype": st.sampled_from(["F16", "BF16", "F64", "I32", "I64", "BOOL", "U8", "F8_E4M3", "X"]),
             "shape": st.lists(st.integers(0, 70), max_size=3) | st.just([2**40, 2**40]),
             "data_offsets": st.lists(st.integers(0, 2**20), min_size=2, max_size=2)}[field]
    return ("tensor", name, field, draw(value))


def apply_edit(data: bytes, edit) -> bytes:
    header, body = split(data)
    meta = header.setdefault("__metadata__", {})
    if edit[0] == "config":
        config = json.loads(meta["config"])
        config[edit[1]] = edit[2]
        meta["config"] = json.dumps(config)  # NaN/Infinity stay as JSON extensions: the loader must refuse them
    elif edit[0] == "meta":
        meta[edit[1]] = edit[2]
    elif edit[0] == "drop":
        del header[edit[1]]
    else:
        header[edit[1]][edit[2]] = edit[3]
    return join(header, body)


def finite(model):
    for name, t in model.state_dict().items():
        if t.is_floating_point():
            assert bool(torch.isfinite(t).all()), f"a loaded model holds non-finite {name}"


@fuzz_settings()
@given(data=st.data())
def test_mutated_checkpoints_load_cleanly(seeds, tmp_path_factory, data):
    files, stats = seeds
    kind = data.draw(st.sampled_from(sorted(files)), label="kind")
    raw = files[kind]
    mode = data.draw(st.sampled_from(["header", "header", "bytes"]), label="mode")
    if mode == "header":
        mutated = raw
        for edit in data.draw(st.lists(header_edit(split(raw)[0]), min_size=1, max_size=3), label="edits"):
            try:
                mutated = apply_edit(mutated, edit)
            except (KeyError, TypeError, ValueError):
                pass  # an earlier edit removed what this one changes
    else:
        mutated = mutate(raw, data.draw(byte_mutations(len(raw)), label="ops"))
    path = tmp_path_factory.mktemp("case") / f"{kind}.safetensors"
    path.write_bytes(mutated)
    check_one(stats, path, LOADERS[kind], finite)


def test_the_seeds_load(seeds, tmp_path):
    files, _ = seeds
    for kind, raw in files.items():
        (tmp_path / kind).write_bytes(raw)
        finite(LOADERS[kind](tmp_path / kind))
        assert apply_edit(raw, ("meta", "kind", split(raw)[0]["__metadata__"].get("kind", ""))) is not None
