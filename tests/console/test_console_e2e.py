"""A steward's work in the console, end to end in headless Chromium: search, open a profile
and read its graph, split it with a preview, undo, explain a pair, accept a review item,
merge, unlink, erase, live updates, and a key without profile:read_pii seeing masked values
everywhere. Each test signs in with an API key as a steward would (authentication is on)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from playwright.sync_api import Page, Request, expect

from tests.console.conftest import (
    INGEST,
    REGULAR,
    Console,
    accessibility_violations,
    create_key,
    event,
    ident,
    screenshot,
    sign_in,
)

SAME = """query($a: IdentifierInput!, $b: IdentifierInput!) {
  explain(a: $a, b: $b) { sameProfile } }"""


def together(console: Console, a: dict[str, str], b: dict[str, str]) -> bool:
    joined: bool = console.api(SAME, a=a, b=b)["explain"]["sameProfile"]
    return joined


def open_profile(page: Page, console: Console, kind: str, value: str) -> str:
    profile_id = console.profile_of(kind, value)
    page.goto(f"{console.url}/console/#/profile/{profile_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(profile_id)
    return profile_id


def act(page: Page, title: str | re.Pattern[str], reason: str, submit: str) -> None:
    """Fills an action's dialog (its reason; the name to record is prefilled) and submits."""
    dialog = page.get_by_role("dialog", name=title)
    dialog.get_by_label("Reason (kept in the audit log)").fill(reason)
    dialog.get_by_role("button", name=submit, exact=True).click()
    expect(dialog).to_be_hidden()


def test_search_then_open_a_profile_with_its_graph(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    page.get_by_label("Name, email, phone or identifier").fill("Mia Nakamura")
    page.get_by_label("Search by").select_option("NAME")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table")
    expect(page.get_by_role("status").first).to_contain_text("found")
    row = results.get_by_role("row").filter(has_text="Mia Nakamura").first
    expect(row).to_contain_text("name")  # what matched
    expect(row.get_by_role("cell").nth(2)).to_have_text(re.compile(r"^\d"))  # identifiers
    assert "Mia" not in page.url  # what was searched stays out of the address (and history)
    # When it last changed (its latest version's time), and that version.
    expect(row.get_by_role("cell").nth(3)).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d v3$")
    )

    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mia Nakamura")
    golden = page.get_by_role("table", name="Golden record")
    expect(golden).to_contain_text("1988-03-14")
    golden.get_by_text("Nakamura", exact=True).hover()  # provenance on hover
    expect(page.get_by_role("tooltip").filter(has_text="event")).to_be_visible()
    identifiers = page.get_by_role("region", name="Identifiers")
    for value in ("mia.nakamura@northwind.org", "+442071838750", "C-1001", "pixel-mia"):
        expect(identifiers).to_contain_text(value)
    links = page.get_by_role("table", name=re.compile("^Links"))
    expect(links).to_contain_text("same event")
    expect(links).to_contain_text("probabilistic")
    page.get_by_test_id("profile-graph").locator("canvas").first.wait_for()
    page.mouse.move(0, 0)  # the tooltip away from the picture
    path = screenshot(page.locator("figure.graph"), f"profile-graph-{console.store}")
    assert path.stat().st_size > 5_000  # a picture, not a blank canvas
    expect(page.get_by_role("region", name="History")).to_contain_text("v1")
    expect(page.get_by_role("table", name="Consent (no decision: not consented)")).to_be_visible()

    page.go_back()  # back to the results, restored from the history entry
    expect(page.get_by_role("row").filter(has_text="Mia Nakamura").first).to_be_visible()
    assert "Mia" not in page.url


def test_split_with_a_preview_on_the_graph_then_undo(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    profile_id = open_profile(page, console, "email", "mia.nakamura@northwind.org")
    page.get_by_role("button", name="Split…").click()
    identifiers = page.get_by_role("region", name="Identifiers")
    identifiers.get_by_label("pixel-mia").check()
    identifiers.get_by_label("app-mia").check()
    page.get_by_role("button", name="Preview split").click()
    plan = page.locator(".plan")
    expect(plan).to_contain_text("cuts 1 link")
    expect(plan).to_contain_text("a new profile")
    expect(
        page.get_by_role("table", name=re.compile("^Links"))
        .get_by_role("row")
        .filter(has_text="cut by the split")
    ).to_have_count(1)
    screenshot(page.locator("figure.graph"), f"split-preview-{console.store}")

    page.get_by_role("button", name="Apply split…").click()
    act(page, "Apply the split", "the app belongs to her brother", "Split")
    expect(page.get_by_role("status").filter(has_text="Split (act_")).to_be_visible()
    assert not together(
        console, ident("device_id", "pixel-mia"), ident("email", "mia.nakamura@northwind.org")
    )
    expect(page.get_by_role("region", name="Identifiers")).not_to_contain_text("pixel-mia")

    audit = page.get_by_role("region", name="Audit log")
    audit.get_by_role("button", name=re.compile("^Undo split")).click()
    act(page, re.compile("^Undo the split act_"), "wrong person", "Undo")
    expect(page.get_by_role("status").filter(has_text="Undone")).to_be_visible()
    assert together(
        console, ident("device_id", "pixel-mia"), ident("email", "mia.nakamura@northwind.org")
    )
    expect(page.get_by_role("region", name="Identifiers")).to_contain_text("pixel-mia")
    assert console.profile_of("device_id", "pixel-mia") == profile_id


def test_explain_shows_each_field_against_the_thresholds(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward, at="#/explain")
    first = page.get_by_role("group", name="First identifier")
    first.get_by_label("Kind").fill("anonymous_id")
    first.get_by_label("Value").fill("cookie-mia")
    second = page.get_by_role("group", name="Second identifier")
    second.get_by_label("Kind").fill("device_id")
    second.get_by_label("Value").fill("pixel-mia")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(".verdict")).to_contain_text("One person")
    table = page.get_by_role("table", name=re.compile("the records compared"))
    rows = table.locator("tbody tr")
    expect(rows.filter(has_text="first_name")).to_contain_text("same")
    expect(rows.filter(has_text="address_line1")).to_contain_text("12 Orchard Rd")
    expect(table.locator("tfoot")).to_contain_text("links at ≥")
    expect(table.locator("tfoot")).to_contain_text("decision link")
    screenshot(table, f"explain-table-{console.store}")

    page.goto(
        f"{console.url}/console/#/explain?a=anonymous_id%3Acookie-ivy&b=anonymous_id%3Acookie-harriet"
    )
    expect(page.locator(".verdict")).to_contain_text("Two profiles")
    expect(
        page.get_by_role("table", name=re.compile("compare under the match model now"))
    ).to_contain_text("no_chance".replace("_", " "))


def test_accept_a_review_item(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward, at="#/review")
    row = page.get_by_role("row").filter(has_text="anonymous_id:ada-1")
    expect(row).to_contain_text("anonymous_id:ada-2")
    row.get_by_role("button", name=re.compile("^Compare")).click()
    expect(page.get_by_role("table", name=re.compile("compared$"))).to_contain_text("last_name")
    row.get_by_role("button", name=re.compile("^Accept")).click()
    act(page, "Accept the match", "same CRM customer, checked by phone", "Accept")
    expect(page.get_by_role("status").filter(has_text="Accepted (act_")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="anonymous_id:ada-1")).to_have_count(0)
    assert together(console, ident("anonymous_id", "ada-1"), ident("anonymous_id", "ada-2"))


def test_merge_and_unlink(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    other = console.profile_of("customer_id", "C-2002")
    open_profile(page, console, "email", "otto.brandt@northwind.org")
    page.get_by_role("button", name="Merge…").click()
    dialog = page.get_by_role("dialog", name="Merge profiles")
    dialog.get_by_label(re.compile("^Other profile ids")).fill(other)
    act(page, "Merge profiles", "same man, new email", "Merge")
    expect(page.get_by_role("status").filter(has_text="Merged (act_")).to_be_visible()
    assert together(
        console, ident("customer_id", "C-2002"), ident("email", "otto.brandt@northwind.org")
    )

    links = page.get_by_role("table", name=re.compile("^Links"))
    links.get_by_role("row").filter(has_text="manual").get_by_role(
        "button", name=re.compile("^Details")
    ).click()
    page.get_by_role("button", name="Unlink…").click()
    act(page, "Unlink", "merged by mistake", "Unlink")
    expect(page.get_by_role("status").filter(has_text="Unlinked (act_")).to_be_visible()
    assert not together(
        console, ident("customer_id", "C-2002"), ident("email", "otto.brandt@northwind.org")
    )


def test_live_updates_from_the_subscription(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    open_profile(page, console, "anonymous_id", "cookie-ivy")
    held = page.get_by_role("table", name=re.compile("^Links")).get_by_role("row")
    expect(held.filter(has_text="cookie-harriet")).to_contain_text("held apart: never-link rule")
    page.get_by_test_id("profile-graph").locator("canvas").first.wait_for()
    # Her twin, held apart: a dashed link to a profile of her own.
    screenshot(page.locator("figure.graph"), f"held-apart-graph-{console.store}")
    page.wait_for_timeout(500)  # the subscription opens after the page loads
    console.api(
        INGEST,
        events=[
            event(
                "ivy-again",
                "shop",
                [ident("anonymous_id", "cookie-ivy"), ident("customer_id", "C-3003")],
            )
        ],
    )
    expect(page.locator(".note.live")).to_contain_text("Changed while you were looking")
    expect(page.get_by_role("region", name="Identifiers")).to_contain_text("C-3003")


def test_erase_asks_for_the_id_typed(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin)
    profile_id = open_profile(page, console, "email", "gone.soon@northwind.org")
    page.get_by_role("button", name="Erase…").click()
    dialog = page.get_by_role("dialog", name="Erase this person")
    dialog.get_by_label("Reason (kept in the audit log)").fill("GDPR request 42")
    submit = dialog.get_by_role("button", name="Erase for good")
    expect(submit).to_be_disabled()
    dialog.get_by_label(re.compile("to confirm$")).fill(profile_id[:-1])
    expect(submit).to_be_disabled()
    dialog.get_by_label(re.compile("to confirm$")).fill(profile_id)
    submit.click()
    expect(page.get_by_role("status")).to_contain_text(f"Erased {profile_id}")
    found = console.api(
        'query($v: String!) { profileByIdentifier(kind: "email", value: $v) { id } }',
        v="gone.soon@northwind.org",
    )
    assert found["profileByIdentifier"] is None


def test_a_key_without_pii_sees_masked_values_and_no_actions(page: Page, console: Console) -> None:
    sign_in(page, console, console.reader)
    expect(page.get_by_text("masked view")).to_be_visible()
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Review queue")).to_have_count(0)
    open_profile(page, console, "customer_id", "C-1001")
    body = page.locator("main")
    expect(body).to_contain_text("m•••@n•••.org")
    expect(body).to_contain_text("•••")
    text = body.inner_text()
    for clear in ("mia.nakamura@northwind.org", "Nakamura", "1988-03-14", "+442071838750"):
        assert clear not in text, clear
    expect(page.get_by_role("button", name="Split…")).to_have_count(0)
    expect(page.get_by_role("button", name="Merge…")).to_have_count(0)
    page.goto(f"{console.url}/console/#/?q=mia.nakamura%40northwind.org&by=EMAIL")
    expect(page.get_by_role("status").first).to_contain_text("1 profile found")
    assert "mia.nakamura@northwind.org" not in page.locator("table").inner_text()


def test_the_login_refuses_a_bad_key_and_signs_out(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/console/")
    page.get_by_label("API key").fill("idk_nope_nope")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Not signed in")
    sign_in(page, console, console.steward)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()


def test_skip_to_content_stays_on_the_page(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    profile_id = open_profile(page, console, "email", "mia.nakamura@northwind.org")
    # Opening it moved the focus to its heading, for a screen reader to announce it.
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(profile_id)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url.endswith(f"#/profile/{profile_id}")


def test_a_key_revoked_while_signed_in_returns_to_the_sign_in_page(
    page: Page, console: Console
) -> None:
    key = create_key(console.store_args, console.env, "Short-lived", "profile:read")
    sign_in(page, console, key)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "identity.cli",
            "keys",
            "revoke",
            key.split("_")[1],
            *console.store_args,
        ],
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, **console.env},
    )
    page.wait_for_timeout(2500)  # the server's key cache
    page.get_by_label("Name, email, phone or identifier").fill("C-1001")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("revoked")


def test_graphiql_keeps_no_header_in_local_storage(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    page.goto(f"{console.url}/graphql")
    expect(page.locator(".graphiql-query-editor")).to_contain_text("WhoAmI")
    page.get_by_role("button", name=re.compile("Execute query")).first.click()
    expect(page.locator(".graphiql-response")).to_contain_text('"subject"')
    kept = page.evaluate("Object.keys(localStorage)")
    assert [k for k in kept if k.startswith("graphiql")] == []


def test_the_keyboard_alone_finds_and_opens_a_profile(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/console/")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(console.steward)
    page.keyboard.press("Enter")
    search = page.get_by_label("Name, email, phone or identifier")
    expect(search).to_be_focused()
    page.keyboard.type("C-1001")
    page.keyboard.press("Enter")
    link = page.get_by_role("table").get_by_role("link").first
    expect(link).to_be_visible()
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mia Nakamura")
    golden_value = page.get_by_role("table", name="Golden record").locator(".has-tip").first
    golden_value.focus()
    expect(page.get_by_role("tooltip").first).to_be_visible()  # provenance on focus too


def test_the_audit_log_leaves_reads_of_personal_data_out_unless_asked(
    page: Page, console: Console
) -> None:
    """A steward's clear reads are audited (read_pii, written within a second); the server
    leaves them out of the lists (excludeActions), so a page holds as many actions as it
    asks for, and shows them when asked."""
    sign_in(page, console, console.steward)
    profile_id = open_profile(page, console, "email", "mia.nakamura@northwind.org")
    page.goto(f"{console.url}/console/#/audit?profile={profile_id}")
    entries = page.locator("main table")
    reads = page.get_by_label("Show reads of personal data")
    reads.check()
    deadline = time.monotonic() + 20
    while "read pii" not in entries.inner_text():  # each toggle reads the page again
        assert time.monotonic() < deadline, "the profile page's read was never audited"
        reads.uncheck()
        reads.check()
        page.wait_for_timeout(200)
    reads.uncheck()
    expect(entries).to_contain_text("auto merge")  # the seeded action, still listed
    expect(entries).not_to_contain_text("read pii")
    open_profile(page, console, "email", "mia.nakamura@northwind.org")
    audit = page.get_by_role("region", name="Audit log")
    expect(audit).to_contain_text("auto merge")
    expect(audit).not_to_contain_text("read pii")

def test_pages_have_no_serious_accessibility_violations(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    profile_id = console.profile_of("email", "mia.nakamura@northwind.org")
    pages = {
        "search": "#/?q=Mia&by=NAME",
        "profile": f"#/profile/{profile_id}",
        "explain": "#/explain?a=anonymous_id%3Acookie-mia&b=device_id%3Apixel-mia",
        "review": "#/review",
        "audit": "#/audit",
    }
    found: dict[str, list[str]] = {}
    for name, at in pages.items():
        page.goto(f"{console.url}/console/{at}")
        page.get_by_role("heading", level=1).wait_for()
        page.wait_for_load_state("networkidle")
        if violations := accessibility_violations(page):
            found[name] = violations
    assert found == {}


def test_graphiql_works_offline_with_the_schema_docs(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)  # GraphiQL sends the console's key
    page.goto(f"{console.url}/graphql")
    page.get_by_role(
        "button", name=re.compile("Show Documentation Explorer|Documentation")
    ).first.click()
    expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Query")
    # The editor fills in once GraphiQL has started: executing before runs nothing.
    expect(page.locator(".graphiql-query-editor")).to_contain_text("WhoAmI")
    page.get_by_role("button", name=re.compile("Execute query")).first.click()
    expect(page.locator(".graphiql-response")).to_contain_text('"subject": "key:')
    screenshot(page, f"graphiql-{console.store}")


def test_the_history_pages_on_when_asked(page: Page, console: Console) -> None:
    sign_in(page, console, console.steward)
    open_profile(page, console, "customer_id", "C-5005")
    history = page.get_by_role("region", name="History")
    versions = history.locator("ol.history > li")
    expect(versions).to_have_count(20)
    asked: list[int] = []  # each further page is read once, from where the last one ended

    def record(sent: Request) -> None:
        body = sent.post_data_json if sent.method == "POST" else None
        if body and "query History" in body["query"]:
            asked.append(body["variables"]["after"])

    page.on("request", record)
    history.get_by_role("button", name="More versions").click()
    expect(versions).to_have_count(len(REGULAR))
    assert asked == [20]
    expect(versions.last).to_contain_text(f"v{len(REGULAR)}")
    expect(history.get_by_role("button", name="More versions")).to_have_count(0)


def test_the_seed_holds_the_scenarios_the_pages_show(console: Console) -> None:
    """The fixture's own check, so a broken seed fails here and not as a UI test: Mia's app
    joined by a probabilistic link, the twins apart, the regular's versions past a page."""
    joined = console.api(
        """query($a: IdentifierInput!, $b: IdentifierInput!) {
          explain(a: $a, b: $b) { sameProfile path { rule } } }""",
        a=ident("anonymous_id", "cookie-mia"),
        b=ident("device_id", "pixel-mia"),
    )["explain"]
    assert joined["sameProfile"] and "probabilistic" in [s["rule"] for s in joined["path"]]
    assert not together(
        console, ident("anonymous_id", "cookie-ivy"), ident("anonymous_id", "cookie-harriet")
    )
    regular = console.api(
        '{ profileByIdentifier(kind: "customer_id", value: "C-5005") { version } }'
    )["profileByIdentifier"]
    assert regular["version"] == len(REGULAR) > 20
