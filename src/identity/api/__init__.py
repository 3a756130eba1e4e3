"""Entry points: thin adapters that translate a protocol into service calls."""
