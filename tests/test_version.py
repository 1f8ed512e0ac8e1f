"""One version (pyproject.toml): the two commands print it and every saved project records it."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from melodex_studio.errors import ProjectError
from melodex_studio.io.project import load_project, save_project
from melodex_studio.io.validate import song_from_dict, song_to_dict
from tests.songs import make_demo_song

ROOT = Path(__file__).resolve().parent.parent


def pyproject_version() -> str:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import re

        return re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_package_version_is_the_pyproject_version():
    import melodex_studio

    assert melodex_studio.__version__ == pyproject_version()


@pytest.mark.parametrize("module, prog", [("melodex_studio.cli", "melodex"),
                                          ("melodex_studio.ui.app", "melodex-studio")])
def test_both_commands_print_the_version(module, prog):
    out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60,
                         check=False, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{prog} {pyproject_version()}"


def test_a_saved_project_records_the_version_and_old_files_still_load(tmp_path):
    path = tmp_path / "song.melodex"
    save_project(path, make_demo_song(bars=2, tracks=1))
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("project.json"))
    assert doc["app_version"] == pyproject_version()
    assert load_project(path).title == doc["title"]

    old = dict(doc)
    del old["app_version"]  # a file written before the field existed
    assert song_to_dict(song_from_dict(old))["tracks"] == doc["tracks"]


def test_an_app_version_that_is_not_text_is_refused_with_its_name():
    doc = song_to_dict(make_demo_song(bars=2, tracks=1))
    doc["app_version"] = 3
    with pytest.raises(ProjectError, match="app_version: app version must be text"):
        song_from_dict(doc)
