"""PySide6 views over the project session (see README.md in this folder)."""
from . import qtfix as _qtfix

_qtfix.apply()
