"""`melodex doctor [--json]`: the models (present, sha256 as their cards record), SoundFont, audio output,
device and packages; exit 0 when the essentials are there, 7 when a model is missing or damaged."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from melodex_studio.cli import main
from melodex_studio.engine import models

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"structure model": "structure-small", "codec model": "codec-small",
         "diffusion renderer model": "renderer-small"}


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No user models and no model variables from the machine running the tests."""
    monkeypatch.setenv("MELODEX_DATA_DIR", str(tmp_path / "data"))
    for env in models.ENVS.values():
        monkeypatch.delenv(env, raising=False)


def doctor_json(capsys) -> tuple[int, dict]:
    code = main(["doctor", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_shipped_models_pass_with_the_hashes_of_their_files_and_cards(capsys):
    code, report = doctor_json(capsys)
    assert code == 0 and report["ok"] is True
    checks = {c["name"]: c for c in report["checks"]}
    for name, stem in KINDS.items():
        digest = hashlib.sha256((ROOT / "models" / f"{stem}.safetensors").read_bytes()).hexdigest()
        assert digest in (ROOT / "models" / f"{stem}.md").read_text()  # the card records it
        assert checks[name]["status"] == "ok" and checks[name]["essential"] is True
        assert f"{stem} (package" in checks[name]["detail"] and digest[:12] in checks[name]["detail"]
        assert "matches its model card" in checks[name]["detail"]
    for name in ("SoundFont", "audio output", "compute device", "packages"):
        assert checks[name]["status"] in ("ok", "missing", "warning")
        assert checks[name]["status"] == "ok" or checks[name]["fix"]  # what to install when not OK
    assert report["packages"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["version"] == report["packages"]["melodex-studio"]


def test_a_damaged_model_fails_with_exit_7_and_says_what_to_do(capsys, monkeypatch, tmp_path):
    shipped = ROOT / "models" / "structure-small.safetensors"
    bad = tmp_path / shipped.name
    shutil.copy(shipped, bad)
    shutil.copy(shipped.with_suffix(".md"), bad.with_suffix(".md"))
    data = bytearray(bad.read_bytes())
    data[-100] ^= 0xFF  # one weight byte: the header still reads, the hash no longer matches the card
    bad.write_bytes(bytes(data))
    monkeypatch.setenv("MELODEX_STRUCTURE_MODEL", str(bad))

    code, report = doctor_json(capsys)
    assert code == 7 and report["ok"] is False
    check = next(c for c in report["checks"] if c["name"] == "structure model")
    assert check["status"] == "missing" and "does not match its model card" in check["detail"]
    assert "MELODEX_STRUCTURE_MODEL" in check["fix"]


def test_missing_models_are_listed_one_line_each_with_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(models, "SEARCH_DIRS", (tmp_path / "none",))
    assert main(["doctor"]) == 7
    out = capsys.readouterr().out.splitlines()
    for name, stem in KINDS.items():
        line = next(x for x in out if name in x and x.startswith(("OK", "MISSING")))
        assert line.startswith("MISSING") and f"no {stem}.safetensors found" in line
    assert sum("-> reinstall Melodex Studio" in x for x in out) == 3
    assert out[-1].endswith("an essential piece is missing (see above).")


def test_doctor_imports_neither_torch_nor_qt():
    code = ("import sys; from melodex_studio.cli import main; rc = main(['doctor', '--json']); "
            "print('torch' in sys.modules, 'PySide6' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         check=False)
    assert out.stdout.strip().splitlines()[-1] == "False False 0", out.stderr
