"""Errors a user can cause. Each carries a message a musician understands; the GUI shows it, the CLI
prints it and exits with a non-zero status."""


class MelodexError(Exception):
    """Base class for every error the user can cause or fix."""

    exit_code = 1


class ProjectError(MelodexError):
    """A .melodex project file is unreadable, corrupt, hostile or from a newer version."""

    exit_code = 3


class MidiError(MelodexError):
    """A MIDI file cannot be read or written."""

    exit_code = 4


class AudioError(MelodexError):
    """Audio cannot be rendered, written or played (bad settings, missing device, missing SoundFont)."""

    exit_code = 5


class PromptError(MelodexError):
    """A prompt or plan field the user gave is not usable."""

    exit_code = 6


class ModelError(MelodexError):
    """A model checkpoint is missing, corrupt or does not fit the request (or the device ran out of memory)."""

    exit_code = 7


class CancelledError(MelodexError):
    """A long job was cancelled by the user; nothing was changed."""

    exit_code = 130
