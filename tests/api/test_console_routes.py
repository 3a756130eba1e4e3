"""The console's pages and GraphiQL over real HTTP (a uvicorn server, authentication on),
served from a build each test writes into its own folder: headers, caching, traversal, the
page shown when nothing is built, and GraphiQL without a CDN (docs/architecture.md,
"Steward console")."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from identity.api.console.routes import CONSOLE_PAGE, GRAPHIQL_PAGE, STATIC
from identity.cli.serve import console_line
from identity.config import Settings
from identity.domain.access import Scope
from tests.api.conftest import ServerThread, settings_on
from tests.auth_fixtures import bearer, issue_key

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'; object-src 'none'")
SECURITY = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer", "x-frame-options": "DENY"}
IMMUTABLE = "public, max-age=31536000, immutable"
INDEX = ('<!doctype html><html><head><title>Identity console</title>'
         '<script type="module" src="/console/assets/console-Ab12Cd.js"></script></head>'
         '<body><div id="root"></div></body></html>')
GRAPHIQL = ('<!doctype html><html><head><title>GraphiQL</title>'
            '<script type="module" src="/console/assets/graphiql-Ef34Gh.js"></script>'
            '<link rel="stylesheet" href="/console/assets/graphiql-Ij56Kl.css"></head>'
            '<body><div id="graphiql"></div></body></html>')
SCRIPT = "document.getElementById('root').textContent = 'console';\n"
SECRET = "IDENTITY_SECRET = 'never served'\n"
TRAVERSALS = [
    "/console/assets/../../../config.py",
    "/console/assets/..%2f..%2f..%2fconfig.py",
    "/console/assets/..%2F..%2F..%2Fconfig.py",
    "/console/assets/%2e%2e/%2e%2e/%2e%2e/config.py",
    "/console/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fconfig.py",
    "/console/assets/..%5c..%5c..%5cconfig.py",
    "/console/assets/./../../../config.py",
    "/console/assets/%252e%252e%252f%252e%252e%252f%252e%252e%252fconfig.py",
    "/console/assets//proc/self/environ",
    "/console/assets/%2fproc%2fself%2fenviron",
    "/console/assets/outside/config.py",  # a link in assets/ to a folder outside it
    "/console/assets/..",
    "/console/assets/nested",  # a folder: no listing
    "/console/assets/",
    "/console/assets/console-Ab12Cd.js%00.png",
]


@dataclass(frozen=True)
class Console:
    url: str
    settings: Settings
    static: Path


def write_build(static: Path) -> Path:
    """A build as Vite writes one, small: the two pages and hashed assets. Beside it, where a
    climb out of assets/ would land, a file that must never be served."""
    (static / "assets" / "nested").mkdir(parents=True)
    (static / CONSOLE_PAGE).write_text(INDEX)
    (static / GRAPHIQL_PAGE).write_text(GRAPHIQL)
    (static / "assets" / "console-Ab12Cd.js").write_text(SCRIPT)
    (static / "assets" / "graphiql-Ef34Gh.js").write_text("export {};\n")
    (static / "assets" / "graphiql-Ij56Kl.css").write_text("body { margin: 0 }\n")
    (static.parent.parent / "config.py").write_text(SECRET)
    (static.parent.parent / "outside").mkdir()
    (static.parent.parent / "outside" / "config.py").write_text(SECRET)
    (static / "assets" / "outside").symlink_to(static.parent.parent / "outside")
    return static


@contextmanager
def running(settings: Settings, static: Path) -> Iterator[Console]:
    with ServerThread(settings, console_static=static) as url:
        yield Console(url, settings, static)


@pytest.fixture
def console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    """`identity serve` with authentication on, the console built into tmp_path."""
    static = write_build(tmp_path / "package" / "console" / "static")
    with running(settings_on("sqlite", tmp_path, request), static) as served:
        yield served


@pytest.fixture
def unbuilt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    """The same server where console/ was never built: static/ is there but empty."""
    static = tmp_path / "static"
    static.mkdir()
    with running(settings_on("sqlite", tmp_path, request), static) as served:
        yield served


def get(console: Console, path: str, **headers: str) -> httpx.Response:
    return httpx.get(console.url + path, headers=headers, timeout=10)


def raw_get(console: Console, path: str) -> tuple[int, bytes]:
    """The path sent as written: httpx would resolve `..` itself before sending it."""
    address = urlsplit(console.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def assert_secured(response: httpx.Response) -> None:
    assert {name: response.headers.get(name) for name in SECURITY} == SECURITY


def test_the_root_and_console_lead_to_the_console_page(console: Console) -> None:
    for path, target in [("/", "/console/"), ("/console", "/console/"),
                         ("/console?profile=p-1", "/console/?profile=p-1")]:
        response = get(console, path)
        assert (response.status_code, response.headers["location"]) == (302, target), path
    assert httpx.get(console.url, follow_redirects=True, timeout=10).text == INDEX


def test_the_console_page_is_served_with_its_headers_and_asked_again_each_time(
        console: Console) -> None:
    response = get(console, "/console/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert_secured(response)
    head = httpx.head(f"{console.url}/console/", timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(INDEX))
    assert httpx.post(f"{console.url}/console/", timeout=10).status_code == 405


@pytest.mark.parametrize(("name", "content_type"), [
    ("console-Ab12Cd.js", "text/javascript; charset=utf-8"),
    ("graphiql-Ij56Kl.css", "text/css; charset=utf-8"),
])
def test_an_asset_is_served_with_its_type_and_kept_for_a_year(
        console: Console, name: str, content_type: str) -> None:
    response = get(console, f"/console/assets/{name}")
    assert response.status_code == 200
    assert response.content == (console.static / "assets" / name).read_bytes()
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == IMMUTABLE
    assert_secured(response)


def test_a_missing_asset_is_404(console: Console) -> None:
    assert get(console, "/console/assets/console-Zz99.js").status_code == 404
    assert get(console, "/console/elsewhere").status_code == 404


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_path_out_of_the_assets_folder_is_not_there(console: Console, path: str) -> None:
    status, body = raw_get(console, path)
    assert status == 404, (path, body)
    assert b"never served" not in body


def test_not_built_is_503_saying_how_to_build_for_the_console_and_graphiql(
        unbuilt: Console) -> None:
    for path in ("/console/", "/graphql"):
        response = get(unbuilt, path, accept="text/html")
        assert response.status_code == 503, path
        assert "not built" in response.text and "make console" in response.text
        assert "npm ci && npm run build" in response.text and "console/" in response.text
        assert "unpkg" not in response.text and "<script" not in response.text
        assert_secured(response)
    assert get(unbuilt, "/console/assets/console-Ab12Cd.js").status_code == 404
    assert get(unbuilt, "/").headers["location"] == "/console/"


def test_graphiql_is_the_built_page_loading_nothing_from_another_host(
        console: Console) -> None:
    response = get(console, "/graphql", accept="text/html")
    assert response.status_code == 200
    assert response.text == GRAPHIQL  # the build's page, not strawberry's CDN one
    assert response.headers["cache-control"] == "no-cache"
    assert_secured(response)
    assert other_hosts(response.text, console.url) == set()


def test_graphiql_is_off_when_introspection_is(request: pytest.FixtureRequest,
                                                tmp_path: Path) -> None:
    static = write_build(tmp_path / "package" / "console" / "static")
    settings = replace(settings_on("sqlite", tmp_path, request), graphql_introspection=False)
    with running(settings, static) as console:
        page = get(console, "/graphql", accept="text/html")
        assert page.status_code == 404 and "graphiql" not in page.text.lower()
        assert get(console, "/console/").text == INDEX  # the console itself stays


def test_pages_are_open_while_graphql_needs_a_key(console: Console) -> None:
    for path in ("/console/", "/console/assets/console-Ab12Cd.js"):
        assert get(console, path).status_code == 200, path
    assert get(console, "/graphql", accept="text/html").status_code == 200  # GraphiQL's page
    query = {"query": "{ viewer { subject } }"}
    refused = httpx.post(f"{console.url}/graphql", json=query, timeout=10)
    assert refused.status_code == 401
    asked = httpx.get(f"{console.url}/graphql", params=query, headers={"accept": "text/html"},
                      timeout=10)
    assert asked.status_code == 401  # a query in the page's URL is a query: it needs a key
    key = issue_key(console.settings, Scope.PROFILE_READ)
    answered = httpx.post(f"{console.url}/graphql", json=query, headers=bearer(key),
                          timeout=10)
    assert answered.json()["data"]["viewer"]["subject"].startswith("key:")


def test_console_requests_are_counted_under_their_routes(console: Console) -> None:
    for path in ("/", "/console/", "/console/assets/console-Ab12Cd.js",
                 "/console/assets/random-1.js"):
        get(console, path)
    series = {line.split(" ")[0] for line in get(console, "/metrics").text.splitlines()
              if line.startswith("identity_http_request_seconds_count")}
    for route in ("/", "/console", "/console/assets"):
        assert f'identity_http_request_seconds_count{{method="GET",route="{route}"}}' in series
    assert not any("random" in line or "Ab12Cd" in line for line in series)


@pytest.mark.skipif(not (STATIC / CONSOLE_PAGE).is_file(),
                    reason="the console is not built here (make console)")
@pytest.mark.parametrize("name", [CONSOLE_PAGE, GRAPHIQL_PAGE])
def test_the_real_build_loads_nothing_from_another_host(name: str) -> None:
    """When console/ has been built (make test builds it), its pages name only /console/
    (and an empty data: icon, so the browser asks for no /favicon.ico)."""
    html = (STATIC / name).read_text()
    assert other_hosts(html, "http://127.0.0.1") == set()
    assert re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(ref.startswith("/console/assets/") or ref == "data:,"
               for ref in re.findall(r'(?:src|href)="([^"]+)"', html))


def other_hosts(html: str, own: str) -> set[str]:
    own_host = urlsplit(own).netloc
    return {url for url in re.findall(r"""(?:https?:)?//[^\s"'<>)]+""", html)
            if urlsplit(url if "://" in url else "http:" + url).netloc != own_host}


def test_the_start_banner_says_where_the_console_is_or_that_it_is_not_built(
        tmp_path: Path) -> None:
    assert console_line("http://127.0.0.1:8000", tmp_path) == (
        "console: not built (make console, or npm ci && npm run build in console/)")
    (tmp_path / CONSOLE_PAGE).write_text(INDEX)
    assert console_line("https://0.0.0.0:8443", tmp_path) == (
        "console at https://0.0.0.0:8443/console/")
