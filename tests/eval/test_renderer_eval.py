"""`melodex eval renderer` (eval.renderer_eval): the metrics on known signals, and a whole run with tiny
checkpoints (random weights) on a one-song validation set rendered here."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from melodex_studio.eval.renderer_eval import (
    EvalConfig, band_limited, chroma_similarity, logmel_distance, mrstft_distance, onset_f1, run_eval, seam_stats,
)
from melodex_studio.render.codec import build_codec
from melodex_studio.render.diffusion import save_model
from melodex_studio.render.dit import build_dit
from melodex_studio.training.data_renderer import build_dataset

SR = 24000


def _tone(midi: int, seconds: float, start: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * t) * np.exp(-2 * t)
    return np.concatenate([np.zeros(int(start * SR)), x]).astype(np.float32)


def test_chroma_and_onsets_tell_the_right_notes_from_wrong_ones():
    a = np.concatenate([_tone(60, 0.5), _tone(64, 0.5), _tone(67, 1.0)])  # C, E, G
    notes = [(0.0, 0.5, 60, 100), (0.5, 1.0, 64, 100), (1.0, 2.0, 67, 100)]
    wrong = np.concatenate([_tone(61, 0.5), _tone(66, 0.5), _tone(70, 1.0)])  # C#, F#, A#
    assert chroma_similarity(a, SR, notes) > 0.8 > 0.4 > chroma_similarity(wrong, SR, notes)
    onsets = np.array([0.0, 0.5, 1.0])
    assert onset_f1(a, SR, onsets) >= 0.6
    assert onset_f1(a, SR, onsets + 0.25) < onset_f1(a, SR, onsets)


def test_distances_rank_the_band_limited_baselines():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SR) * 0.1).astype(np.float32) + _tone(72, 1.0)
    assert mrstft_distance(x, x) == pytest.approx(0.0, abs=1e-6) and logmel_distance(x, x, SR) == pytest.approx(0.0, abs=1e-6)
    d8, d16 = (mrstft_distance(band_limited(x, SR, r), x) for r in (8000, 16000))
    m8, m16 = (logmel_distance(band_limited(x, SR, r), x, SR) for r in (8000, 16000))
    assert d8 > d16 > 0 and m8 > m16 > 0


def test_seams_find_a_click_at_a_join_and_pass_a_step_the_music_has():
    t = np.arange(4 * SR) / SR
    smooth = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    bars, join = list(range(1000, 4 * SR - 1000, 997)), [2 * SR + 123]  # many inner points: p99 ~ their max
    clean = seam_stats(smooth, join, SR, bars, reference=smooth)
    assert clean["join_jump"][0] <= clean["inner_jump_p99"] and clean["join_energy_db"][0] < 1.0
    assert clean["no_click"] == [True]
    clicked = smooth.copy()
    clicked[join[0]:] += 0.3  # a DC step: a 0.3 jump (what a latent seam sounds like, in the extreme)
    bad = seam_stats(clicked, join, SR, bars, reference=smooth)
    assert bad["within"] == [False] and bad["no_click"] == [False] and bad["join_jump"][0] > 0.25
    entry = smooth.copy()
    entry[: join[0]] *= 0.01  # the music enters at the join (a downbeat after a rest): so does the reference
    stepped = seam_stats(entry, join, SR, bars, reference=entry)
    assert stepped["within"] == [False] and stepped["no_click"] == [True]
    spans = [(0, join[0]), (join[0], 4 * SR)]  # the literal measure: the range of the whole sections
    assert seam_stats(smooth, join, SR, bars, spans=spans)["within_sections"] == [True]
    assert seam_stats(clicked, join, SR, bars, spans=spans)["within_sections"] == [False]
    drums = smooth.copy()
    drums[SR // 2: SR // 2 + 2400] += 0.5 * np.exp(-np.arange(2400) / 480)  # a hit inside the first section,
    # whose own jump and energy step are larger than the click's
    assert seam_stats(drums + (clicked - smooth), join, SR, bars, spans=spans)["within_sections"] == [True]


def test_a_whole_evaluation_writes_the_report(tmp_path):
    torch.manual_seed(0)
    build_dataset(tmp_path / "data", "val", n_songs=1, seed=0, source="synthetic", log=lambda *_: None)
    codec, dit = build_codec("tiny"), build_dit("tiny")
    save_model(codec, codec.cfg.to_json(), tmp_path / "codec.safetensors", "codec")
    save_model(dit, dit.cfg.to_json(), tmp_path / "renderer.safetensors", "renderer")
    lines: list[str] = []
    cfg = EvalConfig(data_dir=str(tmp_path / "data"), codec=str(tmp_path / "codec.safetensors"),
                     renderer=str(tmp_path / "renderer.safetensors"), out=str(tmp_path / "eval.json"), sections=2,
                     steps=2, device="cpu", threads=1)
    report = run_eval(cfg, log=lines.append)
    assert json.loads((tmp_path / "eval.json").read_text())["codec"] == report["codec"]
    c = report["codec"]
    assert c["sections"] >= 1 and c["8k"]["logmel"] > c["16k"]["logmel"] and not c["beats_8k"]  # random weights
    kinds = c["by_kind"]  # the split by pitched / drum sections adds up to the whole
    assert set(kinds) <= {"pitched", "drums"} and sum(b["sections"] for b in kinds.values()) == c["sections"]
    for name in ("codec", "8k", "16k"):
        weighted = sum(b["sections"] * b[name]["logmel"] for b in kinds.values()) / c["sections"]
        assert abs(weighted - c[name]["logmel"]) < 1e-6
    assert any(line.strip().startswith(tuple(kinds)) for line in lines)
    a = report["codec_adherence"]
    assert a["sections"] >= 2 and 0.3 < a["soundfont"]["chroma"] <= 1.0 and a["soundfont"]["onset_f1"] > 0.3
    r = report["renderer"]
    assert r["sections"] >= 2 and r["nan_renders"] == 0 and set(r["ratio_to_soundfont"]) == {"chroma", "onset_f1"}
    assert not r["adherence_ok"]  # an untrained renderer does not follow the score
    assert r["soundfont_seams"]["joins"] == r["seams"]["joins"] == r["raw"]["seams"]["joins"]
    assert 0.0 <= r["seams"]["joins_no_click"] <= 1.0 and "joins_no_click" not in r["soundfont_seams"]
    s = r["seams"]  # every join that fails either measure is listed, with its track and section
    failing = round((1 - min(s["joins_no_click"], s["joins_within_sections"])) * s["joins"])
    assert failing <= len(s["flagged"]) <= s["joins"]
    assert all(f["section"] and f["track"] and np.isfinite(f["reference_db_after"]) for f in s["flagged"])
    assert sum(line.strip().startswith("flagged join:") for line in lines) == len(s["flagged"])
    # the engine's leveling: whatever level the random decoder gives, the delivered stems have the SoundFont's
    assert r["loudness_within_3db_fraction"] == 1.0 and r["clipped_renders"] == 0 and r["renders"] >= 2
    assert r["raw"]["loudness_diff_db_median_abs"] > r["loudness_diff_db_median_abs"]
    text = "\n".join(lines)
    assert "codec beats the 8 kHz baseline: False" in text and "diffusion / soundfont: chroma" in text
    assert "before leveling (decoder output)" in text
    p = report["realism"]  # the realism panel: every renderer's column, the verdict, the table
    assert p["sections"] >= 2 and set(p["by_renderer"]) == {"diffusion", "soundfont", "codec", "zero_latent", "additive"}
    sf, dif = p["by_renderer"]["soundfont"], p["by_renderer"]["diffusion"]
    assert sf["logmel"] == 0.0 and dif["logmel"] > 0 and dif["mrstft"] > 0
    assert sf["bandwidth_hz_median"] >= dif["bandwidth_hz_median"] and dif["bandwidth_hz_median"] <= 12500  # a 24 kHz codec
    assert dif["stem_correlation_median"] == pytest.approx(1.0)  # mono stems, as the engine delivers them
    assert sf["rest_dbfs_max"] < -80 or np.isnan(sf["rest_dbfs_max"])  # the teacher is silent in its rests
    assert p["seed_diversity"]["logmel_between_seeds"] > 0 and not p["verdict"]["diffusion_passes_all"]
    assert "Realism panel" in text and "diffusion passes the realism panel: False" in text


def test_the_realism_panel_runs_alone_without_a_data_set(tmp_path):
    torch.manual_seed(0)
    codec, dit = build_codec("tiny"), build_dit("tiny")
    save_model(codec, codec.cfg.to_json(), tmp_path / "codec.safetensors", "codec")
    save_model(dit, dit.cfg.to_json(), tmp_path / "renderer.safetensors", "renderer")
    lines: list[str] = []
    report = run_eval(EvalConfig(data_dir=str(tmp_path / "none"), codec=str(tmp_path / "codec.safetensors"),
                                 renderer=str(tmp_path / "renderer.safetensors"), out=str(tmp_path / "eval.json"),
                                 parts="realism", realism_sections=1, steps=1, device="cpu", threads=1), log=lines.append)
    assert set(report) >= {"realism", "config"} and "codec" not in report and "renderer" not in report
    assert json.loads((tmp_path / "eval.json").read_text())["realism"]["sections"] == report["realism"]["sections"] >= 1
    assert any("Realism panel" in line for line in lines)


def test_the_production_asked_of_the_renderer_is_the_configured_one():
    from melodex_studio.eval.renderer_eval import _val_tracks

    song, track, ref = next(_val_tracks(EvalConfig(production="lofi, warm"), SR))
    assert song.plan["production"] == ["lofi", "warm"]
    assert ref.ndim == 1 and ref.size > SR and track in song.tracks
    song, _, _ = next(_val_tracks(EvalConfig(), SR))
    assert song.plan["production"] == ["dry"]
