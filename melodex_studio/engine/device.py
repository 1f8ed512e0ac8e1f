"""Device choice for the models: CUDA when present, then Apple MPS, then the CPU.

torch is imported lazily, inside the functions, so that importing the engine (and the GUI) stays fast.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..errors import ModelError, OutOfMemoryError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(requested: str = "auto"):
    """Return a ``torch.device`` for ``requested`` ('auto', 'cpu', 'cuda', 'cuda:1', 'mps').

    Raises ``ModelError`` with a readable message when an explicit device is not available.
    """
    import torch

    req = (requested or "auto").lower()
    if req == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if req.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError("CUDA was requested but no CUDA GPU is available on this machine; choose the CPU or automatic")
        return torch.device(req)
    if req == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise ModelError("Apple MPS was requested but is not available on this machine; choose the CPU or automatic")
        return torch.device("mps")
    if req == "cpu":
        return torch.device("cpu")
    raise ModelError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def is_out_of_memory(exc: BaseException) -> bool:
    """True when ``exc`` is a GPU out-of-memory error (so the caller can retry on the CPU or say so)."""
    import torch

    return isinstance(exc, getattr(torch, "OutOfMemoryError", ())) or "out of memory" in str(exc).lower()


@contextmanager
def out_of_memory_as_error(what: str, device) -> Iterator[None]:
    """Turn a GPU out-of-memory error raised inside the block into a ``ModelError`` that says what ran out and
    what to do, after releasing the cached GPU memory. Callers change the project only after the block, so
    nothing is lost."""
    try:
        yield
    except Exception as e:
        if not is_out_of_memory(e):
            raise
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise OutOfMemoryError(f"the {device} device ran out of memory while {what}; nothing was changed. Close other "
                               f"programs that use it, render one section or fewer tracks at a time, or run on the CPU",
                               str(device)) from e
