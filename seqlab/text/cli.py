"""`seqlab text ...` commands (being written)."""

import argparse


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the `text` command group; each leaf parser sets `handler=fn(args)`."""
