"""Real backing servers for tests and development, started from Maven Central, no Docker engine."""
