"""The gRPC entry point (identity.v1.IdentityService): a thin adapter over the service layer."""
