"""Melodex Studio: describe a song in words, get an editable arrangement, render it, export it."""

__version__ = "0.1.0"
