"""Bad input to ``fpforge``: the exception every command raises for it (reported in one
line on stderr, exit status 2) and the argument parser that raises it."""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "Parser"]


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError`."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")
