"""The optional embedding mapping (with a fake encoder: no model needed) and the `melodex plan` command."""
from __future__ import annotations

import json
import zlib

from melodex_studio.cli import main
from melodex_studio.prompt import embed
from melodex_studio.prompt.parse import parse_prompt


def _fake_encoder(texts):
    """Letter-trigram counts: similar spellings give near vectors."""
    out = []
    for t in texts:
        t = f"  {t.lower()} "
        v = [0.0] * 512
        for i in range(len(t) - 2):
            v[zlib.crc32(t[i:i + 3].encode()) % 512] += 1.0
        out.append(v)
    return out


def test_nearest_vocabulary_entries():
    index = embed.VocabularyIndex(_fake_encoder)
    near = index.nearest("synthwavey", k=1, min_score=0.1)
    assert near["genre"][0].name == "synthwave"


def test_suggestions_stay_defaults():
    plan = parse_prompt("melancholicish tune, 90 bpm")
    out = embed.suggest(plan, embed.VocabularyIndex(_fake_encoder))
    assert out.mood == "melancholic" and "mood" not in out.stated and out.tempo_bpm == 90


def test_load_encoder_without_the_extra_is_none_or_callable():
    enc = embed.load_encoder()
    assert enc is None or callable(enc)


def test_cli_plan_json(capsys):
    assert main(["plan", "reggae one-drop in G major, 76 bpm, organ skank, bass and drums", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tempo_bpm"] == 76 and d["key"] == "G major" and d["genre"] == "reggae"
    assert d["stated_flags"]["tempo_bpm"] is True and d["stated_flags"]["form"] is False
    assert [i["name"] for i in d["instruments"] if i["stated"] and not i["is_drum"]] == ["organ", "electric bass"]
    assert d["text"].startswith("genre reggae")


def test_cli_plan_text_marks_defaults(capsys):
    assert main(["plan", ""]) == 0
    out = capsys.readouterr().out
    assert "(default)" in out and "note: The prompt is empty" in out
