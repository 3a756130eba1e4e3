"""`identity rules`: the identity rules in force, printed as a rules file to start from."""

from __future__ import annotations

import argparse
from pathlib import Path

from identity.cli.arguments import EXIT_OK
from identity.config import Settings
from identity.service.rules_file import render_rules


def rules(args: argparse.Namespace) -> int:
    settings = Settings.from_env().with_overrides(rules=args.rules)
    if not Path(settings.rules).exists():  # a mistyped path must not pass for a file
        print(f"# {settings.rules} does not exist: these are the built-in rules.")
    print(render_rules(settings.identity_rules()), end="")
    return EXIT_OK
