"""End to end: prompt -> `melodex generate` -> project + MIDI read back by mido and pretty_midi; the plan is
obeyed exactly (BPM, meter, key, section markers and bar counts, instruments, drums iff asked), with a
tiny random-weight model and with the shipped model; regeneration keeps other sections bit-identical."""
from __future__ import annotations

import json
from pathlib import Path

import mido
import pretty_midi
import pytest
import torch

from melodex_studio.cli import main
from melodex_studio.engine.generation import generate_song, regenerate
from melodex_studio.io.project import read_project
from melodex_studio.prompt.parse import parse_prompt
from melodex_studio.prompt.plan import quarter_bpm
from melodex_studio.prompt.vocabulary import INSTRUMENTS
from melodex_studio.song.timing import ticks_per_bar
from melodex_studio.structure.checkpoint import save_checkpoint
from melodex_studio.structure.transformer import build_model

REPO = Path(__file__).resolve().parents[2]
PROMPTS = REPO / "tests" / "data" / "prompts" / "public.jsonl"
SHIPPED = REPO / "models" / "structure-small.safetensors"
SAMPLE = [0, 3, 7, 13, 14]  # lofi 4/4 with form, waltz 3/4 AABA, rock form, reggae, celtic jig 6/8


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_checkpoint(build_model("tiny"), path)
    return str(path)


def _prompts():
    lines = [json.loads(x) for x in PROMPTS.read_text().splitlines() if x.strip()]
    return [lines[i] for i in SAMPLE if i < len(lines)]


def check_midi(path: Path, expect: dict, plan) -> None:
    mid = mido.MidiFile(str(path))
    metas = [m for t in mid.tracks for m in t if m.is_meta]
    tempos = [m for m in metas if m.type == "set_tempo"]
    assert len(tempos) == 1 and round(mido.tempo2bpm(tempos[0].tempo), 3) == quarter_bpm(expect["bpm"], plan.meter)
    ts = [m for m in metas if m.type == "time_signature"]
    meter = expect.get("meter", f"{plan.meter[0]}/{plan.meter[1]}")
    assert [f"{m.numerator}/{m.denominator}" for m in ts] == [meter]
    ks = [m.key for m in metas if m.type == "key_signature"]
    tonic, mode = expect["key"].split()
    assert ks == [tonic + ("m" if mode == "minor" else "")]
    # section markers at the right bars with the requested lengths
    bt = ticks_per_bar(*map(int, meter.split("/"))) * mid.ticks_per_beat // 480
    abs_t, marks = 0, []
    for m in mid.tracks[0]:
        abs_t += m.time
        if m.type == "marker":
            marks.append((m.text, abs_t))
    form = expect.get("form") or [[s.label, s.bars] for s in plan.form]
    assert [t for t, _ in marks] == [lab for lab, _ in form]
    starts = [0]
    for _, bars in form:
        starts.append(starts[-1] + bars * bt)
    assert [t for _, t in marks] == starts[:-1]
    pm = pretty_midi.PrettyMIDI(str(path))
    # MIDI tempo is quarter notes a minute; the prompt's BPM is the felt beat (dotted quarters in 6/8, 12/8)
    assert pm.estimate_tempo() > 0 and round(pm.get_tempo_changes()[1][0], 3) == quarter_bpm(expect["bpm"], plan.meter)
    assert max(n.end for i in pm.instruments for n in i.notes) <= pm.tick_to_time(starts[-1]) + 1e-6
    families = {i.program // 8 for i in pm.instruments if not i.is_drum}
    for name in expect.get("instruments", []):
        if name in INSTRUMENTS and not INSTRUMENTS[name].is_drum:
            assert INSTRUMENTS[name].program // 8 in families, name
    assert any(i.is_drum for i in pm.instruments) == expect.get("drums", plan.drums)


@pytest.mark.parametrize("which", ["tiny", pytest.param("shipped", marks=pytest.mark.slow)])
def test_generate_cli_obeys_the_prompt(which, tiny_model, tmp_path, capsys):
    if which == "shipped" and not SHIPPED.exists():
        pytest.skip("no shipped structure model")
    model = tiny_model if which == "tiny" else str(SHIPPED)
    items = _prompts() if which == "tiny" else [_prompts()[1], _prompts()[4]]  # shipped: 3/4 no drums, 6/8 drums
    for i, item in enumerate(items):
        out, midi = tmp_path / f"s{i}.melodex", tmp_path / f"s{i}.mid"
        assert main(["generate", item["prompt"], "-o", str(out), "--midi", str(midi), "--seed", "3", "--json",
                     "--device", "cpu", "--model", model]) == 0
        doc = json.loads(capsys.readouterr().out)
        plan = parse_prompt(item["prompt"])
        assert doc["tempo_bpm"] == quarter_bpm(item["expect"]["bpm"], plan.meter) and doc["key"] == item["expect"]["key"]
        assert [s["bars"] for s in doc["sections"]] == [s.bars for s in plan.form]
        check_midi(midi, item["expect"], plan)
        proj = read_project(out)
        assert proj.song.generation["seed"] == 3
        assert proj.tensors["structure/tokens"].ndim == 1


def test_same_seed_same_song_and_regenerate_keeps_other_sections(tiny_model, tmp_path):
    plan = parse_prompt("pop song in C major, 100 bpm, piano, bass and drums; verse 4, chorus 4, verse 4")
    a, ta = generate_song(plan, seed=5, device="cpu", model_path=tiny_model)
    b, tb = generate_song(plan, seed=5, device="cpu", model_path=tiny_model)
    assert (ta["structure/tokens"] == tb["structure/tokens"]).all()
    assert [t.notes for t in a.tracks] == [t.notes for t in b.tracks]
    assert [t.name for t in a.tracks] == [i.name for i in plan.instruments]
    before = {t.id: list(t.notes) for t in a.tracks}
    tensors = dict(ta)
    take = regenerate(a, "chorus", seed=9, device="cpu", tensors=tensors, model_path=tiny_model)
    lo, hi = a.section_ticks(a.section("chorus"))
    for t in a.tracks:
        assert [n for n in t.notes if not lo <= n.start_tick < hi] == [n for n in before[t.id] if not lo <= n.start_tick < hi]
    assert a.takes == [take] and take.tensors[0] in tensors and take.seed == 9
    # one track only: every other track stays identical everywhere
    snap = {t.id: list(t.notes) for t in a.tracks}
    bass = a.track("bass") if any(t.name == "bass" for t in a.tracks) else a.tracks[1]
    regenerate(a, 1, track=bass.name, seed=4, device="cpu", model_path=tiny_model)
    for t in a.tracks:
        if t.id != bass.id:
            assert t.notes == snap[t.id]


def test_regenerate_cli_adds_a_take(tiny_model, tmp_path, capsys):
    out = tmp_path / "r.melodex"
    assert main(["generate", "folk song in D major, 110 bpm, fiddle and guitar, no drums; verse 4, chorus 4", "-o", str(out),
                 "--seed", "1", "--model", tiny_model, "--json"]) == 0
    capsys.readouterr()
    assert main(["regenerate", str(out), "--section", "chorus", "--seed", "2", "--model", tiny_model, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["section"] == "chorus" and doc["take_seed"] == 2
    proj = read_project(out)
    assert len(proj.song.takes) == 1 and proj.song.takes[0].tensors[0] in proj.tensors
    assert main(["regenerate", str(out), "--section", "chorus 3", "--model", tiny_model]) != 0


def test_out_of_gpu_memory_while_writing_or_regenerating_says_so_and_keeps_the_song(tiny_model, monkeypatch):
    """torch's out-of-memory error, injected where the sampler runs (there is no GPU here), becomes a ModelError
    with what to do; a regeneration that fails leaves the song's notes and takes as they were."""
    from melodex_studio.errors import ModelError
    from melodex_studio.structure import generate

    plan = parse_prompt("pop song in C major, 100 bpm, piano and drums; verse 4, chorus 4")
    song, _ = generate_song(plan, seed=5, device="cpu", model_path=tiny_model)
    before = [list(t.notes) for t in song.tracks]

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")

    monkeypatch.setattr(generate, "generate_tokens", oom)
    monkeypatch.setattr(generate, "regenerate_tokens", oom)
    with pytest.raises(ModelError, match="ran out of memory while writing the arrangement; nothing was changed"):
        generate_song(plan, seed=6, device="cpu", model_path=tiny_model)
    with pytest.raises(ModelError, match="ran out of memory while regenerating 'chorus'"):
        regenerate(song, "chorus", seed=9, device="cpu", model_path=tiny_model)
    assert [list(t.notes) for t in song.tracks] == before and song.takes == []


def test_generate_refuses_a_form_longer_than_a_song_can_be(tiny_model):
    from melodex_studio.errors import PromptError
    from melodex_studio.prompt.plan import SectionPlan

    plan = parse_prompt("pop song in C major, 60 bpm, piano; verse 4")
    plan.form = [SectionPlan(f"part {i}", 64) for i in range(16)]  # 1,024 bars of 4 s at 60 BPM: 68 minutes
    with pytest.raises(PromptError, match="cannot be made: it lasts until .* a song lasts at most 60 minutes"):
        generate_song(plan, seed=1, device="cpu", model_path=tiny_model)
