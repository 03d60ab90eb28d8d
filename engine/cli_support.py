"""What every `relais` command module shares."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def fail(message: str, status: int = 2) -> NoReturn:
    """Say what went wrong, in French, on stderr; exit with `status` (2: the call's fault)."""
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(status)
