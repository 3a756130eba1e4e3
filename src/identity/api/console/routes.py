"""Routes for the console's built files (docs/architecture.md, "Steward console").

The pages are static and open to anyone, as the GraphiQL page always was: they hold no data,
and every query they send carries the caller's own API key to /graphql, where Authenticate
and the scopes apply. So the headers here only keep the pages from being framed, sniffed,
or made to run or fetch anything from another origin.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).parent / "static"  # console/ builds into it (`make console`)
CONSOLE_PAGE = "index.html"
GRAPHIQL_PAGE = "graphiql.html"
ASSETS_PREFIX = "/console/assets/"

# Scripts, styles, fonts and requests from this origin only (the build inlines no script;
# GraphiQL sets inline styles; workers may start from blob: URLs); never framed.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'",
    "worker-src 'self' blob:", "frame-ancestors 'none'", "base-uri 'none'",
    "form-action 'self'", "object-src 'none'",
))
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# A page names the current build's assets, so it is asked again each time; an asset's name
# holds a hash of its content, so a name never changes meaning and is kept for a year.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"

NOT_BUILT = ("The steward console is not built, so {what} cannot be served.\n"
             "Build it with `make console` (or `npm ci && npm run build` in console/), "
             "then reload this page.\n")

# What the build writes, typed here rather than by the host's mime.types: with nosniff, a
# script served as text/plain would not run.
_MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
                ".map": "application/json", ".json": "application/json",
                ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff",
                ".wasm": "application/wasm", ".png": "image/png", ".ico": "image/x-icon"}


def page(static: Path, name: str, what: str) -> Response:
    """A built page with the headers, or 503 saying how to build it: never another page (for
    GraphiQL, strawberry's own loads its scripts from a CDN)."""
    path = static / name
    found = _regular_file(path)
    if found is None:
        return PlainTextResponse(NOT_BUILT.format(what=what), status_code=503,
                                 headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})
    return FileResponse(path, media_type="text/html", stat_result=found,
                        headers={**SECURITY_HEADERS, "Cache-Control": PAGE_CACHE})


def asset(static: Path, name: str) -> Response:
    """A file under static/assets/, or 404: a name that climbs out of the folder (`..`, an
    absolute path, a link leading elsewhere) or names a folder is simply not there."""
    root = (static / "assets").resolve()
    if not _plain_name(name):
        return _not_found()
    path = (root / name).resolve()
    found = _regular_file(path) if path.is_relative_to(root) else None
    if found is None:
        return _not_found()
    media_type = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, stat_result=found,
                        headers={**SECURITY_HEADERS, "Cache-Control": ASSET_CACHE})


def console_routes(static: Path = STATIC) -> list[BaseRoute]:
    """`/` and `/console` lead to `/console/`, the console's page; `/console/assets/...` its
    scripts and styles (GraphiQL's too: its page is served at /graphql, http.py)."""

    async def home(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=302)

    async def console(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(f"/console/?{query}" if query else "/console/", status_code=302)

    async def index(request: Request) -> Response:
        return page(static, CONSOLE_PAGE, "the console")

    async def assets(request: Request) -> Response:
        return asset(static, request.path_params["name"])

    return [
        Route("/", home, methods=["GET"]),
        Route("/console", console, methods=["GET"]),
        Route("/console/", index, methods=["GET"]),
        Route(ASSETS_PREFIX + "{name:path}", assets, methods=["GET"]),
    ]


def _plain_name(name: str) -> bool:
    parts = name.split("/")
    return (bool(name) and "\\" not in name and "\x00" not in name
            and all(part not in ("", ".", "..") for part in parts))


def _regular_file(path: Path) -> os.stat_result | None:
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers=dict(SECURITY_HEADERS))
