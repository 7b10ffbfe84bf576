"""Shared pytest setup for the golden-model tests.

Helpers (references, comparison, data generators) live in ``tests/reference.py``; this file
only makes it importable whatever pytest's import mode."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
