"""Melodex Studio: describe a song in words, get an editable arrangement, render it, export it.

``__version__`` comes from the one version in ``pyproject.toml``: the installed distribution's metadata
(``importlib.metadata``), else, in a source tree that was never installed, ``pyproject.toml`` itself. It is
looked up on first use (PEP 562 ``__getattr__``): importing ``importlib.metadata`` costs ~40 ms, which the
window's and the CLI's start-up do not pay unless the version is asked for.
"""


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("melodex-studio")
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover - importlib.metadata is in every supported Python
        pass
    import re
    from pathlib import Path

    try:
        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if found:
            return found.group(1)
    except OSError:
        pass
    return "0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        global __version__
        __version__ = _version()
        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
