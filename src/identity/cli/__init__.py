"""`identity serve | consume | ingest | generate | resolve | train | reindex | rules | keys |
erase | export | suppressions`: parse arguments, call app or service, print. One module per
command; arguments.py holds the parser."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from identity.cli.arguments import EXIT_USAGE, parser
from identity.cli.consume import consume
from identity.cli.erase import erase, export, suppressions
from identity.cli.generate import generate
from identity.cli.ingest import ingest
from identity.cli.keys import keys
from identity.cli.matching import resolve, train
from identity.cli.reindex import reindex
from identity.cli.rules import rules
from identity.cli.serve import serve
from identity.service import StoreUnavailable

__all__ = ["main"]

COMMANDS = {"serve": serve, "consume": consume, "ingest": ingest, "generate": generate,
            "resolve": resolve, "train": train, "reindex": reindex, "rules": rules,
            "keys": keys, "erase": erase, "export": export, "suppressions": suppressions}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except StoreUnavailable as exc:
        print(f"identity {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # bad settings from the environment
        print(f"identity {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE

