"""`identity generate`: synthetic customer journeys and the truth of who is who."""

from __future__ import annotations

import argparse
import sys

from identity.cli.arguments import EXIT_OK, EXIT_USAGE


def generate(args: argparse.Namespace) -> int:
    from identity.synthetic import GeneratorConfig, people_for_events, write_dataset
    from identity.synthetic import generate as generate_dataset

    people = args.people if args.people is not None else (
        people_for_events(args.events) if args.events is not None else 1000)
    if people < 1:
        print("identity generate: --people and --events must be positive", file=sys.stderr)
        return EXIT_USAGE
    dataset = generate_dataset(GeneratorConfig(people=people, seed=args.seed))
    write_dataset(dataset, args.out, args.truth)
    print(f"{len(dataset.events)} events from {people} people -> {args.out}; "
          f"truth for {len(dataset.truth)} identifiers -> {args.truth}")
    return EXIT_OK


