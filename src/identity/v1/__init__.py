"""Generated gRPC stubs for protos/identity/v1/identity.proto: do not edit by hand.

Regenerate with `python -m identity.api.grpc.codegen`; a test fails when they are stale.
"""
