"""Suite-wide settings: Qt without a display, and one pinned SoundFont so renders match on every machine."""
import contextlib
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pinned_soundfont() -> Path:
    """pretty_midi's bundled TimGM6mb.sf2: installed with the package, so the same font on every machine."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


@pytest.fixture(autouse=True, scope="session")
def _pin_the_soundfont(tmp_path_factory):
    """Render every test with ``pinned_soundfont()``, whatever the machine has installed.

    ``find_soundfont()`` prefers a system FluidR3_GM (e.g. Debian's fluid-soundfont-gm) to the bundled font,
    and a user setting to both; sample positions, levels and spectra differ between fonts. The suite gets
    its own user config dir (platformdirs honours XDG_CONFIG_HOME) whose settings name the bundled font, so
    neither the system font nor the developer's own settings reach a test, and subprocesses inherit it.
    """
    from melodex_studio.render.soundfont import (
        SETTINGS_FILE,
        SETTINGS_KEY,
        find_soundfont,
    )

    config = tmp_path_factory.mktemp("config")
    (config / "melodex-studio").mkdir()
    font = pinned_soundfont()
    (config / "melodex-studio" / SETTINGS_FILE).write_text(json.dumps({SETTINGS_KEY: str(font)}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(config))
        assert find_soundfont() == font, "the test SoundFont could not be pinned through the user settings"
        yield font


@pytest.fixture(autouse=True, scope="session")
def _private_user_data(tmp_path_factory):
    """Autosave copies and user models of the tests go to a folder of their own, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MELODEX_DATA_DIR", str(tmp_path_factory.mktemp("user-data")))
        yield


@pytest.fixture(scope="module")
def tiny_structure(tmp_path_factory) -> str:
    """The path of an untrained tiny structure model (seeded): fast generation for tests of what surrounds it."""
    import torch

    from melodex_studio.structure.checkpoint import save_checkpoint
    from melodex_studio.structure.transformer import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "structure.safetensors"
    save_checkpoint(build_model("tiny"), path)
    return str(path)


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` inside the block (token-by-token sampling is fastest, and least
    disruptive on shared machines, on one thread)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="module")
def one_torch_thread():
    with torch_threads(1):
        yield
