"""Without the tinysoundfont package the SoundFont renderer says what to install (no ModuleNotFoundError)."""
from __future__ import annotations

import sys

import pytest

from melodex_studio.errors import AudioError
from melodex_studio.render.soundfont import load_soundfont


def test_a_missing_synthesiser_package_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # import fails as when it is not installed
    sf2 = tmp_path / "x.sf2"
    sf2.write_bytes(b"RIFF")
    with pytest.raises(AudioError, match=r"package tinysoundfont\) is not installed"):
        load_soundfont(sf2)
