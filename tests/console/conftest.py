"""The steward console in a real browser: Debian's Chromium, driven by Playwright (its
Python package, with the executable path set: no browser is downloaded), against `identity
serve` with authentication on, serving the console as it was built by `make console`.

Every page runs with the network cut off: any request to a host other than the server is
aborted and recorded, and a test that made one fails, so the console and GraphiQL are shown
to work on a host without internet. Screenshots go to test-artifacts/console/ (or
$IDENTITY_TEST_ARTIFACTS), kept as CI artefacts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

import identity.api.console as console_package
from load_tests.server import identity_server, sqlite_args
from tests.auth_fixtures import bearer
from tests.neo4j_fixtures import Neo4jAccess, wiped

pytestmark = pytest.mark.e2e
# A loaded CI machine (the suite runs Neo4j and Kafka beside the browser) can take seconds to
# answer: assertions wait up to this long, actions too (page fixture), before failing.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD = Path(console_package.__file__).parent / "static"
ARTIFACTS = Path(os.environ.get("IDENTITY_TEST_ARTIFACTS", "test-artifacts")) / "console"
AXE = Path(__file__).parents[2] / "console" / "node_modules" / "axe-core" / "axe.min.js"

INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted rejected results { profileId errors { reason } } } }"""

MIA = {
    "first_name": "Mia",
    "last_name": "Nakamura",
    "date_of_birth": "1988-03-14",
    "address_line1": "12 Orchard Road",
    "city": "Leeds",
    "postcode": "LS6 2QP",
}
IVY = {
    "first_name": "Ivy",
    "last_name": "Achterberg",
    "date_of_birth": "1979-02-13",
    "address_line1": "3 Quay Street",
    "city": "Bristol",
    "postcode": "BS1 4DJ",
}


def ident(kind: str, value: str) -> dict[str, str]:
    return {"kind": kind, "value": value}


def event(
    event_id: str,
    source: str,
    identifiers: list[dict[str, str]],
    traits: dict[str, str] | None = None,
    at: str = "2026-03-01T10:00:00Z",
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "type": "identify",
        "timestamp": at,
        "source": source,
        "identifiers": identifiers,
        "traits": traits,
    }


# Mia: a web visit and a shop order seen together (same_event), her phone app scored to her
# (probabilistic); Ivy and her twin Harriet, kept apart by the never-link rule (a dashed
# link); Ada Lovelace twice with nothing else in common (a possible match to review).
EVENTS = [
    event(
        "mia-web",
        "web",
        [ident("anonymous_id", "cookie-mia"), ident("email", "mia.nakamura@northwind.org")],
        MIA,
    ),
    event(
        "mia-shop",
        "shop",
        [
            ident("customer_id", "C-1001"),
            ident("email", "mia.nakamura@northwind.org"),
            ident("phone", "+44 20 7183 8750"),
        ],
        at="2026-03-02T09:30:00Z",
    ),
    event(
        "mia-app",
        "app",
        [ident("device_id", "pixel-mia"), ident("anonymous_id", "app-mia")],
        {**MIA, "first_name": "Mia", "address_line1": "12 Orchard Rd"},
        at="2026-03-05T18:00:00Z",
    ),
    event("ivy", "web", [ident("anonymous_id", "cookie-ivy")], IVY),
    event(
        "harriet",
        "web",
        [ident("anonymous_id", "cookie-harriet")],
        {**IVY, "first_name": "Harriet"},
    ),
    event(
        "ada-1",
        "crm",
        [ident("anonymous_id", "ada-1")],
        {"first_name": "Ada", "last_name": "Lovelace"},
    ),
    event(
        "ada-2",
        "crm",
        [ident("anonymous_id", "ada-2")],
        {"first_name": "Ada", "last_name": "Lovelace"},
    ),
    event(
        "otto",
        "web",
        [ident("anonymous_id", "cookie-otto"), ident("email", "otto.brandt@northwind.org")],
        {"first_name": "Otto", "last_name": "Brandt"},
    ),
    event(
        "otto-2",
        "shop",
        [ident("customer_id", "C-2002"), ident("email", "o.brandt@northwind.org")],
        {"first_name": "Otto", "last_name": "Brandt", "date_of_birth": "1990-01-01"},
    ),
    event(
        "gone",
        "web",
        [ident("anonymous_id", "cookie-gone"), ident("email", "gone.soon@northwind.org")],
        {"first_name": "Gwen", "last_name": "Sooner"},
    ),
]
# A regular: one visit a day for 22 days, each with a session of its own, so her profile has
# 22 versions, more than the history's first page of 20.
REGULAR = [
    event(
        f"reg-{day}",
        "web",
        [ident("customer_id", "C-5005"), ident("session_id", f"s-{day}")],
        at=f"2026-04-{day:02d}T09:00:00Z",
    )
    for day in range(1, 23)
]
EVENTS += REGULAR


@dataclass
class Console:
    url: str
    store: str  # sqlite or neo4j
    store_args: list[str]  # the store's arguments and environment, for the CLI
    env: dict[str, str]
    steward: str  # steward, profile:read, profile:read_pii
    reader: str  # profile:read only: sees masked values
    admin: str

    def api(self, query: str, key: str | None = None, **variables: object) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=bearer(key or self.admin),
            timeout=10,
        )
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def profile_of(self, kind: str, value: str) -> str:
        found = self.api(
            "query($k: String!, $v: String!) { profileByIdentifier(kind: $k, value: $v) { id } }",
            k=kind,
            v=value,
        )["profileByIdentifier"]
        assert found is not None, f"no profile for {kind}:{value}"
        profile_id: str = found["id"]
        return profile_id


def create_key(store_args: list[str], env: dict[str, str], name: str, scopes: str) -> str:
    """A key made as an administrator makes one: `identity keys create`, which prints it once."""
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "identity.cli",
            "keys",
            "create",
            "--name",
            name,
            "--scopes",
            scopes,
            *store_args,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **env},
    )
    found = re.search(r"idk_[A-Za-z0-9_-]+", made.stdout)
    assert found, made.stdout
    return found.group()


def store_of(
    kind: str, folder: Path, request: pytest.FixtureRequest
) -> tuple[list[str], dict[str, str]]:
    """`identity serve`'s store arguments and environment: a new SQLite file, or the
    session's Neo4j emptied (its password in the environment, never in the arguments)."""
    if kind == "sqlite":
        return sqlite_args(folder / "graph.db"), {}
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")
    with ThreadPoolExecutor(1) as wiping:  # asyncio.run, outside the fixture's event loop
        wiping.submit(wiped, access).result()
    return (
        ["--store", "neo4j", "--neo4j-uri", access.uri, "--neo4j-user", access.user],
        {"IDENTITY_NEO4J_PASSWORD": access.password},
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """`identity serve` with authentication on, the seed ingested, and a key per role; on
    SQLite, then on Neo4j (the production store)."""
    if not (BUILD / "index.html").is_file():
        pytest.fail(
            "the console is not built: run `make console` (npm ci && npm run build in console/)"
        )
    folder = tmp_path_factory.mktemp("console")
    store_args, env = store_of(request.param, folder, request)
    keys = [
        create_key(store_args, env, "Sam Steward", "steward,profile:read,profile:read_pii"),
        create_key(store_args, env, "Rita Reader", "profile:read"),
        create_key(store_args, env, "Ada Admin", "admin"),
    ]
    # No model file there: the service scores with the built-in model.
    serve_args = [*store_args, "--model", str(folder / "model.json")]
    with identity_server(serve_args, env, dev=False) as server:
        running = Console(server.url, request.param, store_args, env, *keys)
        loaded = running.api(INGEST, events=EVENTS)["ingestEvents"]
        assert (loaded["accepted"], loaded["rejected"]) == (len(EVENTS), 0), loaded
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Debian's chromium is needed for the console's browser tests "
            "(apt-get install chromium; `make test` installs it when run as root)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class Offline:
    """Requests that left the machine (aborted), and errors the pages threw."""

    server: str
    refused: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        target = urlsplit(route.request.url)
        if target.scheme in ("data", "blob") or f"{target.scheme}://{target.netloc}" == self.server:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A fresh tab at 1280x800 with the network cut off (only the server answers)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    offline = Offline(console.url)
    context.route("**/*", offline.route)
    tab = context.new_page()
    tab.on("pageerror", lambda error: offline.page_errors.append(str(error)))
    tab.set_default_timeout(WAIT_MS)
    yield tab
    context.close()
    assert offline.refused == [], f"requests to other hosts: {offline.refused}"
    assert offline.page_errors == [], f"the page threw: {offline.page_errors}"


def sign_in(page: Page, console: Console, key: str, at: str = "") -> None:
    page.goto(f"{console.url}/console/{at}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Pages").wait_for()


def screenshot(locator: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    locator.screenshot(path=str(path))
    return path


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is (labels, roles, names,
    contrast...)."""
    page.evaluate(AXE.read_text())  # as the debugger runs it: the page's CSP refuses inline scripts
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x: {v['nodes'][0]['target']})"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
