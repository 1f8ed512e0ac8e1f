"""Errors a user can cause. Each carries a message a musician understands; the GUI shows it, the CLI
prints it and exits with the class's ``exit_code`` (the table ``exit_code_table()`` is printed by
``melodex --help``). Engine messages speak of the problem; the front end adds how to fix it in its own terms
(a menu entry, a command-line flag)."""


class MelodexError(Exception):
    """Base class for every error the user can cause or fix."""

    exit_code = 1
    meaning = "any other problem the user can fix"


class ProjectError(MelodexError):
    """A .melodex project file is unreadable, corrupt, hostile or from a newer version."""

    exit_code = 3
    meaning = "a project file cannot be read or written"


class MidiError(MelodexError):
    """A MIDI file cannot be read or written."""

    exit_code = 4
    meaning = "a MIDI file cannot be read or written"


class AudioError(MelodexError):
    """Audio cannot be rendered, written or played (bad settings, missing device, missing SoundFont)."""

    exit_code = 5
    meaning = "audio cannot be rendered, written or played"


class PromptError(MelodexError):
    """A prompt or plan field the user gave is not usable."""

    exit_code = 6
    meaning = "the prompt or a plan field is not usable"


class ModelError(MelodexError):
    """A model checkpoint is missing, corrupt or does not fit the request (or the device ran out of memory)."""

    exit_code = 7
    meaning = "a model is missing, damaged or cannot run on the chosen device"


class OutOfMemoryError(ModelError):
    """The GPU ran out of memory while a model ran; the job may be retried on the CPU."""

    def __init__(self, message: str, device: str = "cuda"):
        super().__init__(message)
        self.device = device


class NotFoundError(MelodexError):
    """A section, track or take named by the user does not exist; the message lists the choices."""

    exit_code = 8
    meaning = "no such section, track or take (the message lists the choices)"


class ProjectBusyError(ProjectError):
    """The project is open in another window or process, or changed on disk since it was opened."""

    exit_code = 9
    meaning = "the project is open elsewhere or was changed on disk by another program"


class JobBusyError(MelodexError):
    """A long job is already running on this project."""

    exit_code = 10
    meaning = "another long job is already running on this project"


class CancelledError(MelodexError):
    """A long job was cancelled by the user; nothing was changed."""

    exit_code = 130
    meaning = "cancelled (Ctrl-C); nothing was changed"


USAGE_EXIT_CODE = 2  # argparse: a bad or missing command-line argument


def exit_code_table() -> str:
    """The CLI's exit codes, one per line, for ``melodex --help`` and the README."""
    rows = [(0, "success"), (MelodexError.exit_code, MelodexError.meaning), (USAGE_EXIT_CODE, "bad command-line arguments")]
    for cls in (ProjectError, MidiError, AudioError, PromptError, ModelError, NotFoundError, ProjectBusyError,
                JobBusyError, CancelledError):
        rows.append((cls.exit_code, cls.meaning))
    return "\n".join(f"  {code:>3}  {text}" for code, text in rows)
