"""The application's user data folder (autosave copies, the user's own models): ``MELODEX_DATA_DIR`` when set,
else ``platformdirs.user_data_dir("melodex-studio")``. It need not exist."""
from __future__ import annotations

import os
from pathlib import Path

ENV = "MELODEX_DATA_DIR"


def data_dir() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("melodex-studio"))
