"""`identity erase | export | suppressions lift`: erasure and access for operators (GDPR
Art. 17 and 15; docs/architecture.md, "Erasure and access"), over the same service calls the
APIs make, audited under `--actor`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from identity.api.limits import check_profile_ids
from identity.app import build_service
from identity.cli.arguments import EXIT_OK, EXIT_USAGE, settings_of
from identity.domain.errors import InvalidInput
from identity.service import IdentityService


def default_actor() -> str:
    """Who the audit log names when --actor is not given: the operator's login."""
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


def _run(args: argparse.Namespace, name: str,
         work: Callable[[IdentityService], Awaitable[int]]) -> int:
    async def run() -> int:
        try:  # as GraphQL and gRPC refuse it: before the store is opened
            if (profile_id := getattr(args, "profile_id", None)) is not None:
                check_profile_ids([("profile_id", profile_id)])
        except InvalidInput as exc:
            print(f"identity {name}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        service = await build_service(settings_of(args))
        try:
            return await work(service)
        except InvalidInput as exc:
            print(f"identity {name}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            await service.store.close()

    return asyncio.run(run())


def erase(args: argparse.Namespace) -> int:
    async def work(service: IdentityService) -> int:
        done = await service.erase_profile(args.profile_id, args.actor or default_actor(),
                                           args.reason)
        print(json.dumps({"action_id": done.action_id, "profile_id": done.profile_id,
                          "erased_ids": list(done.erased_ids),
                          "identifiers": done.identifiers,
                          "rows": dataclasses.asdict(done.rows)}))
        return EXIT_OK

    return _run(args, "erase", work)


def export(args: argparse.Namespace) -> int:
    found: dict[str, Any] = {}

    async def work(service: IdentityService) -> int:
        found.update(await service.export_profile(args.profile_id,
                                                  args.actor or default_actor()))
        return EXIT_OK

    if args.output is None:
        code = _run(args, "export", work)
        if code == EXIT_OK:
            print(json.dumps(found, ensure_ascii=False, indent=2))
        return code
    # The file first: a path that cannot be written ends the command before the person's
    # data is read or an export is audited. A new file only its owner reads.
    try:
        descriptor = os.open(args.output, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        print(f"identity export: {args.output} exists: name a new file", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as exc:  # no such folder, no permission, a NUL in the path
        print(f"identity export: cannot write {args.output!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        code = _run(args, "export", work)
        if code == EXIT_OK:
            file.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
    if code != EXIT_OK:
        os.unlink(args.output)  # nothing was exported: no empty file left behind
        return code
    print(f"profile {found['profile_id']} exported to {args.output}", file=sys.stderr)
    return EXIT_OK


def suppressions(args: argparse.Namespace) -> int:
    async def work(service: IdentityService) -> int:
        identifiers = list(service.normalize_every_key(args.kind, args.value))
        lifted = await service.lift_suppressions(identifiers, args.actor or default_actor(),
                                                 args.reason)
        if not lifted.lifted:
            print(f"identity suppressions lift: that {args.kind} is not suppressed",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"suppression lifted (action {lifted.action_id}): events naming it are taken "
              "in again", file=sys.stderr)
        return EXIT_OK

    return _run(args, "suppressions lift", work)
