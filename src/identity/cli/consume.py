"""`identity consume`: a worker that ingests the events topic, one member of the consumer
group; run as many as the topic has partitions. /metrics on its own port."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from aiokafka.errors import KafkaError
from prometheus_client import start_http_server

from identity.api.kafka.config import KafkaConfig
from identity.api.kafka.runner import run_kafka
from identity.app import build_service
from identity.cli.arguments import EXIT_OK, EXIT_USAGE, settings_of
from identity.cli.serve import configure_logging
from identity.config import Settings
from identity.domain.identifiers import printable


def consume(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    config = settings.kafka_config()
    if config is None:
        print("identity consume: no Kafka to consume from: pass --kafka-bootstrap HOST:PORT "
              "or set IDENTITY_KAFKA_BOOTSTRAP", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level)
    if settings.metrics_port:
        try:
            start_http_server(settings.metrics_port, addr=settings.host)
        except OSError as exc:  # a host that does not resolve, a port taken
            print(f"identity consume: /metrics cannot listen on "
                  f"{printable(settings.host, 64)}:{settings.metrics_port}: "
                  f"{exc.strerror or type(exc).__name__}", file=sys.stderr)
            return EXIT_USAGE
    metrics = (f"http://{settings.host}:{settings.metrics_port}/metrics"
               if settings.metrics_port else "off")
    print(f"identity consume: {config.events_topic} at {config.bootstrap} as group "
          f"{config.group}, into the {settings.store} store; /metrics: {metrics}",
          file=sys.stderr)
    try:
        asyncio.run(_consume(settings, config))
    except KafkaError as exc:
        print(f"identity consume: Kafka at {config.bootstrap} refused or did not answer: "
              f"{type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return EXIT_USAGE  # as for a store that cannot be reached
    return EXIT_OK


async def _consume(settings: Settings, config: KafkaConfig) -> None:
    """Until SIGTERM or SIGINT: then the batch in hand commits and the worker leaves the
    group, so the others take its partitions at once; a second signal ends it there."""
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():  # asked twice: at once (what is not committed is read again)
            print("identity consume: stopped at once", file=sys.stderr, flush=True)
            os._exit(EXIT_USAGE)
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    service = await build_service(settings)
    try:
        await run_kafka(service, config, stop, relay=False, wait_for_broker=False)
    finally:
        await service.store.close()
