# The identity-graph service: `identity serve` on port 8000 (GraphQL at /graphql) and
# gRPC on port 50051 (identity.v1.IdentityService, health checking, reflection).
# The store is chosen at run time (IDENTITY_STORE=sqlite|neo4j); docker-compose.yml runs it on Neo4j.

# The steward console, built by Vite into src/identity/api/console/static (vite.config.ts
# writes to ../src/... from console/); only the built files reach the image, not Node.
FROM node:20-slim AS console
WORKDIR /build/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid, so files on a mounted volume have a predictable owner.
RUN groupadd --system --gid 10001 identity \
    && useradd --system --uid 10001 --gid identity --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin identity

# Only what `pip install .` reads (see .dockerignore); the sources are removed once installed.
# The console's build goes in as package data (pyproject.toml), served by `identity serve`.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
COPY graph_schema ./graph_schema
COPY --from=console /build/src/identity/api/console/static ./src/identity/api/console/static
RUN pip install --no-cache-dir . \
    && rm -rf /build

# The default SQLite store writes data/identity.db relative to the working directory. The
# installed code stays root's (the service cannot rewrite it); only the data folder is the
# service's own.
WORKDIR /app
RUN mkdir -p /app/data && chown identity:identity /app/data && chmod 0750 /app/data

# By number, so a runtime can check it is not root without reading /etc/passwd
# (Kubernetes' runAsNonRoot refuses a USER given by name).
USER 10001:10001
EXPOSE 8000 50051

# Liveness only: slim has no curl, so ask with the standard library; urlopen raises on any error
# status or refused connection, and the exit status 1 marks the container unhealthy. With TLS
# on (IDENTITY_TLS_CERT_FILE) it asks over https, on loopback, without checking the
# certificate's name: it asks whether the server answers, not who it is.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, ssl, urllib.request; tls = bool(os.environ.get('IDENTITY_TLS_CERT_FILE')); urllib.request.urlopen('%s://127.0.0.1:%s/healthz' % ('https' if tls else 'http', os.environ.get('IDENTITY_PORT', '8000')), timeout=4, context=ssl._create_unverified_context() if tls else None)"]

CMD ["identity", "serve", "--host", "0.0.0.0"]
