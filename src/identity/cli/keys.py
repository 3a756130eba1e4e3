"""`identity keys create | list | revoke`: the API keys callers authenticate with
(docs/architecture.md, "Security and privacy"). A key is printed once, at creation; the
store keeps only a salted hash of it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from identity.app import opened_store
from identity.cli.arguments import EXIT_OK, EXIT_USAGE, settings_of
from identity.config import Settings
from identity.domain.access import parse_scopes
from identity.service.api_keys import ApiKeys


def keys(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, settings_of(args)))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with opened_store(settings) as store:
        api_keys = ApiKeys(store)
        if args.keys_command == "create":
            try:
                issued = await api_keys.issue(args.name, parse_scopes(args.scopes), args.rate)
            except ValueError as exc:
                print(f"identity keys create: {exc}", file=sys.stderr)
                return EXIT_USAGE
            print(issued.secret)
            print(f"key {issued.row.key_id} ({', '.join(issued.row.scopes)}): shown once, "
                  "keep it; send it as 'Authorization: Bearer <key>'", file=sys.stderr)
            return EXIT_OK
        if args.keys_command == "list":
            for row in await api_keys.list():
                print(json.dumps({
                    "key_id": row.key_id, "name": row.name, "scopes": list(row.scopes),
                    "created_at": row.created_at.isoformat(),
                    "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                    "rate_per_s": row.rate_per_s}))
            return EXIT_OK
        if not await api_keys.revoke(args.key_id):
            print(f"identity keys revoke: no key {args.key_id[:40]!r}", file=sys.stderr)
            return EXIT_USAGE
        print(f"key {args.key_id} revoked", file=sys.stderr)
        return EXIT_OK
