"""Kafka in and out (docs/architecture.md, "Kafka"): events consumed from a topic into ingest,
profile changes relayed from the change log (the outbox) to a topic."""
