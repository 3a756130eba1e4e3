"""Authentication for every entry point: API keys and signed JWTs to a Principal, the scope
each operation needs, and the per-key rate limit (docs/architecture.md, "Security and
privacy")."""
