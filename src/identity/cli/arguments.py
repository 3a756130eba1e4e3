"""The command line: its parser, and the settings its flags give (flags win over the
environment)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from identity.config import STORE_KINDS, Settings, parse_grpc_port, parse_rate, whole_number
from identity.domain.identifiers import printable
from identity.service.reindex import PAGE_SIZE

EXIT_OK, EXIT_REJECTS, EXIT_USAGE = 0, 1, 2
REINDEX_CHECKPOINT = "data/reindex-checkpoint.json"
MAX_REINDEX_PAGE_SIZE = 100_000


def integer(text: str) -> int:
    """An integer flag, read as settings are (config.whole_number); its range is checked
    where the value is used, which names it (so a count of 10**21 gets the range)."""
    try:
        return whole_number(text, "the value", max_digits=30)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{printable(text, 16)}' is not an integer") from None


def rate(text: str) -> float:
    """Requests per second, read as IDENTITY_RATE_LIMIT is (config.parse_rate)."""
    try:
        return parse_rate(text, "the rate")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1, as numpy takes it."""
    try:
        value = whole_number(text, "the seed")
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"'{printable(text, 16)}' is not a whole number from "
                                         f"0 to {2**32 - 1}")
    return value


def outputs_refused(command: str, outputs: Sequence[Path | None], inputs: Sequence[Path]
                    ) -> bool:
    """Says, for the first output the command must not write (an input file, which opening
    it would empty, or a path in no folder), why; True when there is one."""
    read = {path.resolve() for path in inputs}
    for target in outputs:
        if target is None:
            continue
        if target.resolve() in read:
            print(f"identity {command}: {target} is an input file; write it elsewhere",
                  file=sys.stderr)
            return True
        if not target.resolve().parent.is_dir():
            print(f"identity {command}: cannot write {target}: no folder {target.parent}",
                  file=sys.stderr)
            return True
    return False


def store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", choices=STORE_KINDS,
                        help="env IDENTITY_STORE, default sqlite")
    parser.add_argument("--database", help="SQLite file (or sqlite:PATH); env IDENTITY_DATABASE, "
                        "default data/identity.db")
    parser.add_argument("--neo4j-uri", help="env IDENTITY_NEO4J_URI, default "
                        "neo4j://127.0.0.1:7687")
    parser.add_argument("--neo4j-user", help="env IDENTITY_NEO4J_USER, default neo4j")
    parser.add_argument("--neo4j-password", help="env IDENTITY_NEO4J_PASSWORD (prefer the "
                        "variable: a flag shows in the process list)")
    parser.add_argument("--neo4j-database", help="env IDENTITY_NEO4J_DATABASE, default neo4j")
    parser.add_argument("--default-region", help="region for phone numbers written without "
                        "a country code; env IDENTITY_DEFAULT_REGION, default US")
    parser.add_argument("--rules", help="the identity rules file (limits, priorities, hubs, "
                        "phone regions per source); env IDENTITY_RULES, default "
                        "data/rules.toml (the built-in rules until it exists)")


def resolving_flags(parser: argparse.ArgumentParser) -> None:
    """What a long-running process that resolves events is told: `serve` and `consume`."""
    parser.add_argument("--log-level", help="env IDENTITY_LOG_LEVEL, default info")
    parser.add_argument("--model", help="the match model `identity train` saved; env "
                        "IDENTITY_MODEL, default data/model.json (the built-in one until then)")
    parser.add_argument("--no-matching", action="store_true",
                        help="no probabilistic links in real time (env IDENTITY_MATCHING=off)")
    parser.add_argument("--strict-ingest", action="store_true",
                        help="reject an event for a malformed identifier or an order without "
                        "an amount, instead of accepting it without them (env "
                        "IDENTITY_STRICT_INGEST=on)")


# The Kafka and TLS flags' destinations are the settings they override (settings_of).
TLS_SETTINGS = ("tls_cert_file", "tls_key_file", "tls_client_ca_file")
KAFKA_SETTINGS = ("kafka_bootstrap", "kafka_events_topic", "kafka_dead_letter_topic",
                  "kafka_changes_topic", "kafka_group", "kafka_batch")


def kafka_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--kafka-bootstrap", metavar="HOST:PORT[,...]",
                        help=f"Kafka: {what}; env IDENTITY_KAFKA_BOOTSTRAP")
    parser.add_argument("--events-topic", dest="kafka_events_topic", metavar="TOPIC",
                        help="env IDENTITY_KAFKA_EVENTS_TOPIC, default identity.events")
    parser.add_argument("--dead-letter-topic", dest="kafka_dead_letter_topic", metavar="TOPIC",
                        help="where refused events go, with the reason; env "
                        "IDENTITY_KAFKA_DEAD_LETTER_TOPIC, default identity.events.dead-letter")
    parser.add_argument("--changes-topic", dest="kafka_changes_topic", metavar="TOPIC",
                        help="profile changes, keyed by profile id; env "
                        "IDENTITY_KAFKA_CHANGES_TOPIC, default identity.profile-changes")
    parser.add_argument("--group", dest="kafka_group", metavar="GROUP",
                        help="the consumer group the workers share; env IDENTITY_KAFKA_GROUP, "
                        "default identity-graph")
    parser.add_argument("--batch", dest="kafka_batch", type=integer, metavar="N",
                        help="events ingested together, at most; env IDENTITY_KAFKA_BATCH, "
                        "default 500")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="identity",
        description="An identity graph: resolves the identifiers customers leave (emails, "
        "phones, cookies, devices, accounts, orders) into golden profiles, in real time, and "
        "explains why.",
        epilog="Start with `identity serve` (GraphQL at http://127.0.0.1:8000/graphql, gRPC on "
        ":50051) or `identity generate` then `identity ingest data/events.jsonl`. Settings "
        "come from flags, else IDENTITY_* environment variables (see the README's "
        "Configuration); `identity COMMAND --help` for a command's options.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the service: GraphQL (GraphiQL at /graphql) and gRPC over one store")
    serve.add_argument("--host", help="env IDENTITY_HOST, default 127.0.0.1")
    serve.add_argument("--port", type=integer, help="env IDENTITY_PORT, default 8000")
    serve.add_argument("--grpc-port", metavar="PORT|off",
                       help="gRPC port on the same host, 0 for any free port, off for none; "
                       "env IDENTITY_GRPC_PORT, default 50051")
    serve.add_argument("--tls-cert-file", dest="tls_cert_file", metavar="PEM",
                       help="the server's certificate (chain, PEM): HTTPS and TLS gRPC, "
                       "plaintext refused; needs --tls-key-file; env IDENTITY_TLS_CERT_FILE, "
                       "default none (plaintext)")
    serve.add_argument("--tls-key-file", dest="tls_key_file", metavar="PEM",
                       help="its private key (PEM, unencrypted); env IDENTITY_TLS_KEY_FILE")
    serve.add_argument("--tls-client-ca-file", dest="tls_client_ca_file", metavar="PEM",
                       help="mutual TLS on gRPC: clients must present a certificate this CA "
                       "issued (HTTP asks for none); env IDENTITY_TLS_CLIENT_CA_FILE")
    resolving_flags(serve)
    serve.add_argument("--profile-cache", type=integer, metavar="PROFILES",
                       help="golden profiles kept in memory for fast lookups (0 for none); "
                       "env IDENTITY_PROFILE_CACHE, default 10000")
    serve.add_argument("--cache-staleness-ms", type=integer, metavar="MS",
                       help="on Neo4j, how late a replica's cache may learn of a write made "
                       "through another replica, at most (its own writes: at once); env "
                       "IDENTITY_CACHE_STALENESS_MS, default 100")
    kafka_flags(serve, "consume the events topic and publish profile changes (off until "
                "given)")
    serve.add_argument("--no-consume", action="store_true",
                       help="with Kafka: publish profile changes but consume no events (leave "
                       "that to `identity consume` workers); env IDENTITY_KAFKA_CONSUME=off")
    serve.add_argument("--dev", action="store_true",
                       help="development mode: authentication OFF, every caller holds every "
                       "scope (a loud warning at start and on /readyz); env "
                       "IDENTITY_DEV_MODE=on. Without it every call needs an API key "
                       "(identity keys create) or a JWT")
    serve.add_argument("--rate-limit", type=rate, metavar="PER_SECOND",
                       help="requests per second per API key or token subject, 0 for none "
                       "(a key created with --rate keeps its own); env IDENTITY_RATE_LIMIT, "
                       "default 100 (none in development mode unless given)")
    serve.add_argument("--rate-burst", type=integer, metavar="REQUESTS",
                       help="requests a key may send at once before its rate holds it; env "
                       "IDENTITY_RATE_BURST, default 200")
    serve.add_argument("--graphql-max-cost", type=integer, metavar="COST",
                       help="a GraphQL document's cost at most (each field 1, a page's "
                       "fields times its first); env IDENTITY_GRAPHQL_MAX_COST, default 5000")
    serve.add_argument("--no-introspection", action="store_true",
                       help="refuse GraphQL introspection (__schema, __type; GraphiQL off "
                       "too) and serve no gRPC reflection, as production should; env "
                       "IDENTITY_GRAPHQL_INTROSPECTION=off")
    store_flags(serve)

    consume = commands.add_parser(
        "consume", help="a worker: ingest the Kafka events topic, sharing its partitions with "
        "the other workers of the consumer group")
    consume.add_argument("--host", help="address /metrics listens on; env IDENTITY_HOST, "
                         "default 127.0.0.1")
    consume.add_argument("--metrics-port", type=integer, help="/metrics port, 0 for none; env "
                         "IDENTITY_METRICS_PORT, default 9108")
    resolving_flags(consume)
    kafka_flags(consume, "the events topic's broker")
    store_flags(consume)

    ingest = commands.add_parser("ingest", help="ingest a JSONL file of events in bulk")
    ingest.add_argument("file", type=Path, help="one JSON event per line ('-' for stdin)")
    ingest.add_argument("--batch-size", type=integer, default=500,
                        help="events read and ingested together (default 500)")
    ingest.add_argument("--rejects", type=Path, help="write every rejected line here as JSONL")
    ingest.add_argument("--fail-on-reject", action="store_true",
                        help="exit with status 1 when any event is rejected")
    ingest.add_argument("--strict", dest="strict_ingest", action="store_true",
                        help="reject an event for a malformed identifier or an order without "
                        "an amount, instead of accepting it without them")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    store_flags(ingest)

    generate = commands.add_parser(
        "generate", help="write synthetic customer journeys with their ground truth")
    size = generate.add_mutually_exclusive_group()
    size.add_argument("--people", type=integer, help="number of people (default 1000)")
    size.add_argument("--events", type=integer, help="roughly this many events instead")
    generate.add_argument("--seed", type=seed, default=0,
                          help="the same seed writes the same events (default 0)")
    generate.add_argument("--out", type=Path, default=Path("data/events.jsonl"),
                          help="the events, one JSON object per line (default "
                          "data/events.jsonl)")
    generate.add_argument("--truth", type=Path, default=Path("data/truth.csv"),
                          help="which person each identifier belongs to, to score against "
                          "(default data/truth.csv)")

    resolve = commands.add_parser(
        "resolve", help="match the records of a CSV file (dedupe) or two (link), no server")
    resolve.add_argument("files", type=Path, nargs="+", metavar="FILE.csv",
                         help="one file to deduplicate, or two to link")
    resolve.add_argument("--out", type=Path, required=True,
                         help="write source,record_id,cluster_id here")
    resolve.add_argument("--id-column", default="id", help="default id")
    resolve.add_argument("--field", action="append", default=[],
                         metavar="MODEL_FIELD=CSV_COLUMN",
                         help="read a model field from another column (repeatable); by "
                         "default columns named like the model's fields are read")
    resolve.add_argument("--model", type=Path,
                         help="a saved model (JSON); default: the built-in model")
    resolve.add_argument("--no-train", action="store_true",
                         help="use the model's m and u as they are (default: fit them on "
                         "the input)")
    resolve.add_argument("--threshold", type=float,
                         help="link at this match probability (default: the model's)")
    resolve.add_argument("--pairs", type=Path,
                         help="also write every linked pair with its match probability")
    resolve.add_argument("--quiet", action="store_true", help="no progress bar")

    rules = commands.add_parser(
        "rules", help="print the identity rules in force (limits, priorities, hubs, phone "
        "regions) as a rules file: `identity rules > data/rules.toml` starts one")
    rules.add_argument("--rules", help="the rules file to read; env IDENTITY_RULES, default "
                       "data/rules.toml")

    train = commands.add_parser(
        "train", help="fit the match model on the records in the store, or on CSV files, "
        "and save it where the service reads it")
    train.add_argument("--records", type=Path, nargs="+", metavar="FILE.csv",
                       help="train on these files (one, or two to link) instead of the store")
    train.add_argument("--id-column", default="id", help="with --records; default id")
    train.add_argument("--field", action="append", default=[], metavar="MODEL_FIELD=CSV_COLUMN",
                       help="with --records: read a model field from another column")
    train.add_argument("--base", type=Path, help="start from this model's comparisons and "
                       "rules (default: the saved model, else the built-in one)")
    train.add_argument("--out", type=Path, help="where to save it (default: the model the "
                       "service reads, env IDENTITY_MODEL, default data/model.json)")
    train.add_argument("--seed", type=seed, default=0,
                       help="for the random pairs u is fit on (default 0)")
    train.add_argument("--force", action="store_true",
                       help="save the fitted model even when the store's evidence says it is "
                       "worse than the model in force")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    store_flags(train)

    reindex = commands.add_parser(
        "reindex", help="re-file every match record under the blocking keys of the model in "
        "force, after `identity train` changed its blocking rules or an upgrade did; resumes "
        "where an interrupted run stopped (blocks take members up to IDENTITY_MAX_BLOCK, as "
        "in ingest)")
    reindex.add_argument("--model", help="the match model whose blocking rules the records "
                         "are filed under; env IDENTITY_MODEL, default data/model.json (the "
                         "built-in one until then)")
    reindex.add_argument("--checkpoint", type=Path, default=Path(REINDEX_CHECKPOINT),
                         help="where the last record id done is saved after each page, and "
                         "read back to resume; removed when the run ends; one made for "
                         f"another model or store is refused (default {REINDEX_CHECKPOINT})")
    reindex.add_argument("--restart", action="store_true",
                         help="start from the first record, ignoring (then replacing) the "
                         "checkpoint")
    reindex.add_argument("--page-size", type=integer, default=PAGE_SIZE,
                         help="records re-filed per write transaction, from 1 to "
                         f"{MAX_REINDEX_PAGE_SIZE:,} (default {PAGE_SIZE})")
    reindex.add_argument("--quiet", action="store_true", help="no progress bar")
    store_flags(reindex)
    keys = commands.add_parser(
        "keys", help="API keys: create one (shown once), list them, revoke one")
    key_commands = keys.add_subparsers(dest="keys_command", required=True,
                                       help="create, list or revoke")
    create = key_commands.add_parser("create", help="a new key, printed once: keep it")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--scopes", required=True,
                        help="space- or comma-separated: profile:read, profile:read_pii, "
                        "ingest, steward, admin")
    create.add_argument("--rate", type=rate, metavar="PER_SECOND",
                        help="this key's request rate (default: IDENTITY_RATE_LIMIT)")
    store_flags(create)
    listing = key_commands.add_parser("list", help="every key: id, name, scopes, state")
    store_flags(listing)
    revoke = key_commands.add_parser("revoke", help="refuse a key from now on (every replica "
                                     "within seconds)")
    revoke.add_argument("key_id", help="the id `identity keys list` shows")
    store_flags(revoke)

    erase = commands.add_parser(
        "erase", help="erase a profile's person for good (GDPR Art. 17): every trace removed, "
        "the identifiers suppressed at ingest; prints what went, as counts")
    erase.add_argument("profile_id", help="the profile to erase (a merged id erases the "
                       "profile it was merged into)")
    erase.add_argument("--reason", required=True, help="why, for the audit log (a request's "
                       "reference)")
    erase.add_argument("--actor", help="who, for the audit log; default operator:<login>")
    store_flags(erase)
    export = commands.add_parser(
        "export", help="everything held about a profile's person, as JSON (GDPR Art. 15)")
    export.add_argument("profile_id", help="the profile to export")
    export.add_argument("--output", help="a new file to write (default: standard output)")
    export.add_argument("--actor", help="who, for the audit log; default operator:<login>")
    store_flags(export)
    suppressions = commands.add_parser(
        "suppressions", help="the identifiers erasure suppressed: lift one")
    suppression_commands = suppressions.add_subparsers(dest="suppressions_command",
                                                       required=True, help="lift")
    lift = suppression_commands.add_parser(
        "lift", help="take events naming an erased identifier in again (the person came back)")
    lift.add_argument("kind", help="the identifier's kind, such as email")
    lift.add_argument("value", help="its value, as producers send it (normalized here)")
    lift.add_argument("--reason", required=True, help="why, for the audit log")
    lift.add_argument("--actor", help="who, for the audit log; default operator:<login>")
    store_flags(lift)

    for choice in commands._choices_actions:  # `identity COMMAND --help` says what it is for
        commands.choices[choice.dest].description = choice.help
    return parser


def settings_of(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if (grpc_port := getattr(args, "grpc_port", None)) is not None:
        settings = replace(settings, grpc_port=parse_grpc_port(grpc_port))  # off is None
    return settings.with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        log_level=getattr(args, "log_level", None),
        model=getattr(args, "model", None),
        matching=False if getattr(args, "no_matching", False) else None,
        profile_cache=getattr(args, "profile_cache", None),
        cache_staleness_ms=getattr(args, "cache_staleness_ms", None),
        strict_ingest=True if getattr(args, "strict_ingest", False) else None,
        store=args.store,
        database=args.database,
        neo4j_uri=args.neo4j_uri,
        neo4j_user=args.neo4j_user,
        neo4j_password=args.neo4j_password,
        neo4j_database=args.neo4j_database,
        default_region=args.default_region,
        rules=getattr(args, "rules", None),
        **{name: getattr(args, name, None) for name in KAFKA_SETTINGS},
        **{name: getattr(args, name, None) for name in TLS_SETTINGS},
        kafka_consume=False if getattr(args, "no_consume", False) else None,
        metrics_port=getattr(args, "metrics_port", None),
        dev_mode=True if getattr(args, "dev", False) else None,
        rate_limit=getattr(args, "rate_limit", None),
        rate_burst=getattr(args, "rate_burst", None),
        graphql_max_cost=getattr(args, "graphql_max_cost", None),
        graphql_introspection=False if getattr(args, "no_introspection", False) else None,
    )


