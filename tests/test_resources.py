"""resources/: the desktop integration files are valid, consistent with each other and shipped by pyproject."""
from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "resources"
APP, MIME_TYPE = "io.melodex.Studio", "application/x-melodex-project"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_icons_exist_in_every_size_and_the_windows_and_mac_files_hold_them():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        for kind, name in (("apps", APP), ("mimetypes", MIME_TYPE.replace("/", "-"))):
            assert png_size(RES / "icons" / "hicolor" / f"{size}x{size}" / kind / f"{name}.png") == (size, size)
    ico = (RES / "icons" / f"{APP}.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    sizes = sorted(ico[6 + 16 * i] or 256 for i in range(count))
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    assert (RES / "icons" / f"{APP}.icns").read_bytes()[:4] == b"icns"


def test_desktop_file_metainfo_and_mime_type_name_each_other():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(RES / f"{APP}.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Icon"] == APP and d["Exec"].split()[0] == "melodex-studio" and MIME_TYPE in d["MimeType"]
    meta = ET.parse(RES / f"{APP}.metainfo.xml").getroot()
    assert meta.findtext("id") == APP and meta.findtext("launchable") == f"{APP}.desktop"
    assert meta.findtext("project_license") == "MIT"
    # No public site yet: no <url> or screenshot addresses (they were placeholders); the comment says what to add.
    assert meta.find("url") is None and meta.find("screenshots") is None
    assert "packaging/screenshots/main-window.png" in (RES / f"{APP}.metainfo.xml").read_text(encoding="utf-8")
    assert (ROOT / "packaging" / "screenshots" / "main-window.png").is_file()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(RES / "mime" / f"{APP}.xml").getroot().find("m:mime-type", ns)
    assert mime.get("type") == MIME_TYPE and mime.find("m:glob", ns).get("pattern") == "*.melodex"
    assert mime.find("m:icon", ns).get("name") == MIME_TYPE.replace("/", "-")


def test_pyproject_ships_every_file_it_names():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    files = [f for group in project["tool"]["setuptools"]["data-files"].values() for f in group]
    assert f"resources/{APP}.desktop" in files and f"resources/mime/{APP}.xml" in files
    for f in files + project["project"]["license-files"]:
        assert (ROOT / f).is_file(), f


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validate_passes():
    r = subprocess.run(["desktop-file-validate", str(RES / f"{APP}.desktop")], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_appstreamcli_validate_passes():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", str(RES / f"{APP}.metainfo.xml")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout
