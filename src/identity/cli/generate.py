"""`identity generate`: synthetic customer journeys and the truth of who is who."""

from __future__ import annotations

import argparse
import sys

from identity.cli.arguments import EXIT_OK, EXIT_USAGE

# About 2 million events, a few GB in memory.
MAX_PEOPLE = 200_000
MAX_COUNTS = {"--people": MAX_PEOPLE, "--events": MAX_PEOPLE * 10}


def generate(args: argparse.Namespace) -> int:
    from identity.synthetic import GeneratorConfig, people_for_events, write_dataset
    from identity.synthetic import generate as generate_dataset

    asked = [(flag, n) for flag, n in (("--people", args.people), ("--events", args.events))
             if n is not None]
    for flag, count in asked:
        if not 1 <= count <= MAX_COUNTS[flag]:
            print(f"identity generate: {flag} must be from 1 to {MAX_COUNTS[flag]:,} (the "
                  "dataset is built in memory; for more, generate several files with other "
                  "seeds)", file=sys.stderr)
            return EXIT_USAGE
    people = args.people if args.people is not None else (
        people_for_events(args.events) if args.events is not None else 1000)
    dataset = generate_dataset(GeneratorConfig(people=people, seed=args.seed))
    write_dataset(dataset, args.out, args.truth)
    print(f"{len(dataset.events)} events from {people} people -> {args.out}; "
          f"truth for {len(dataset.truth)} identifiers -> {args.truth}")
    return EXIT_OK


