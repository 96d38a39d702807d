"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright,
against the API under a real uvicorn process with the local engine running."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from scheduler_api.main import create_app
from tests.conftest import API_TOKEN, FakeClock, make_local_settings, task_body
from tests.support.browsers import chromium
from tests.support.processes import probe_server_env, scheduler_api
from tests.support.served import served

TOKEN = "dashboard-token-0123456789"
SHOTS = os.environ.get("SCREENSHOTS_DIR")  # make screenshots: README's pictures


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("dashboard")
    fail_file = home / "fail.txt"
    env = {
        **probe_server_env(home),
        "SCHEDULER_API_TOKENS": TOKEN,
    }
    with scheduler_api(env, cwd=home) as url:
        yield url, fail_file


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@contextmanager
def app_only_page(browser: Browser, url: str, **context_options: Any) -> Iterator[Page]:
    """A browser with no network beyond the app: any other request is aborted, and none
    may have been loaded (a request the page's CSP refuses never loads)."""
    ours = (url, f"blob:{url}", "data:")
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 860}, **context_options})
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(ours) else route.abort(),
    )
    opened = context.new_page()
    loaded: list[str] = []
    opened.on("requestfinished", lambda request: loaded.append(request.url))
    yield opened
    context.close()
    assert [r for r in loaded if not r.startswith(ours)] == []


@pytest.fixture
def page(browser: Browser, server: tuple[str, Path]) -> Iterator[Page]:
    with app_only_page(browser, server[0]) as opened:
        yield opened


@dataclass
class ClockedApp:
    """The app under uvicorn in this process, on a clock the test moves; its browser page
    shows the same time (Playwright's clock) in Paris."""

    url: str
    clock: FakeClock
    page: Page

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def schedule(self, task_id: str, **timing: Any) -> str:
        created = self.api("POST", "/scheduler/schedule", json=task_body(task_id, **timing))
        assert created.status_code == 200, created.text
        arn: str = created.json()["schedule_arn"]
        return arn

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.page.clock.set_fixed_time(self.clock.now)

    def open(self, arn: str) -> None:
        sign_in(self.page, self.url, "#/schedule/" + quote(arn, safe=""))


@pytest.fixture
def clocked(browser: Browser, tmp_path: Path) -> Iterator[ClockedApp]:
    clock = FakeClock()
    settings = make_local_settings(tmp_path / "s.db", api_tokens=TOKEN)
    app = create_app(settings, clock=clock, start_engine=False)
    with served(app) as url, app_only_page(browser, url, timezone_id="Europe/Paris") as opened:
        opened.clock.set_fixed_time(clock.now)
        yield ClockedApp(url, clock, opened)


def schedule(url: str, task_id: str, **extra: Any) -> str:
    body = {**task_body(task_id, cron="0 9 1 1 ? 2099"), **extra}
    response = httpx.post(
        f"{url}/scheduler/schedule",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    arn: str = response.json()["schedule_arn"]
    return arn


def sign_in(page: Page, url: str, where: str = "#/schedules") -> None:
    page.goto(f"{url}/dashboard{where}")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in")).to_be_hidden()


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_the_token_is_asked_once_and_nothing_is_shown_without_it(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    schedule(url, "secret-one")
    page.goto(f"{url}/dashboard#/schedules")
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.get_by_text("secret-one")).to_have_count(0)
    page.get_by_label("API token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That token was refused.")).to_be_visible()
    sign_in(page, url)
    expect(page.get_by_role("link", name="secret-one")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "scheduler_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    # The cookie alone does not act: a cross-site form cannot add the dashboard's header.
    jar = {"scheduler_session": cookie["value"]}
    arn = httpx.get(f"{url}/scheduler/schedules", cookies=jar, timeout=10)
    assert arn.status_code == 401
    page.reload()  # signed in once: no prompt again
    expect(page.get_by_role("link", name="secret-one")).to_be_visible()


def test_a_schedule_created_by_the_api_appears_without_a_reload(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    schedule(url, "listed-first", labels={"team": "growth"})
    sign_in(page, url)
    expect(page.get_by_role("link", name="listed-first")).to_be_visible()
    schedule(url, "listed-later")  # the page polls
    expect(page.get_by_role("link", name="listed-later")).to_be_visible()
    page.get_by_label("Label (key:value)").fill("team:growth")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="listed-later")).to_have_count(0)
    expect(page.get_by_role("link", name="listed-first")).to_be_visible()
    shot(page, "schedules")


def test_run_now_shows_a_succeeded_run_and_pause_changes_the_state(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    schedule(url, "run-me", data={"notification_type": "reminder"})
    sign_in(page, url)
    page.get_by_role("link", name="run-me").click()
    expect(page.get_by_text("Next fire times")).to_be_visible()
    run = page.get_by_role("button", name="Run now")
    run.focus()
    page.keyboard.press("Enter")  # usable with a keyboard
    expect(page.locator("td.status-SUCCEEDED")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Paused.")).to_be_visible()
    expect(page.locator("dd", has_text="DISABLED")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    expect(page.locator("#fires li")).to_have_text(["none: paused (resume it to fire again)"])
    shot(page, "schedule")


def test_an_edit_after_someone_elses_is_412_with_a_clear_message(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    arn = schedule(url, "edited")
    sign_in(page, url)
    page.get_by_role("link", name="edited").click()
    expect(page.get_by_label("cron")).to_have_value("0 9 1 1 ? 2099")
    httpx.patch(  # someone else saves first
        f"{url}/scheduler/schedule/{arn}",
        json={"cron": "0 8 1 1 ? 2099"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    # The page's refresh shows the other edit; the form still holds what it first read,
    # so saving it must not overwrite that edit.
    expect(page.locator("dd", has_text="cron(0 8 1 1 ? 2099)")).to_be_visible()
    page.get_by_label("cron").fill("0 10 1 1 ? 2099")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("This schedule changed since you opened it")).to_be_visible()


def test_an_edit_after_pausing_on_the_same_page_saves(page: Page, server: tuple[str, Path]) -> None:
    url, _ = server
    schedule(url, "paused-then-edited")
    sign_in(page, url)
    page.get_by_role("link", name="paused-then-edited").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("dd", has_text="DISABLED")).to_be_visible()
    page.get_by_label("cron").fill("0 10 1 1 ? 2099")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.locator("dd", has_text="cron(0 10 1 1 ? 2099)")).to_be_visible()
    page.get_by_label("cron").fill("0 11 1 1 ? 2099")  # and again, with the ETag it got back
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("dd", has_text="cron(0 11 1 1 ? 2099)")).to_be_visible()


def test_a_422_shows_next_to_its_field_and_the_preview_follows_typing(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    sign_in(page, url, "#/new")
    timing = page.get_by_label("Expression")
    timing.fill("0 9 ? * MON-FRI *")
    expect(page.locator("#preview li")).to_have_count(5)
    timing.fill("0 9 * * * *")  # both day fields set: AWS refuses it
    expect(page.locator("#err-timing")).not_to_be_empty()
    timing.fill("0 9 ? * MON-FRI *")
    page.get_by_label("Task id").fill("not a valid id!")
    page.get_by_label("User id").fill("1")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.locator("#err-task_id")).not_to_be_empty()
    expect(page.locator("#err-user_id")).to_be_empty()
    shot(page, "new-schedule")
    page.get_by_label("Task id").fill("made-in-the-form")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Schedule made-in-the-form")).to_be_visible()


def test_a_dead_letter_is_redriven_from_its_page(page: Page, server: tuple[str, Path]) -> None:
    url, fail_file = server
    fail_file.write_text("doomed\n")
    arn = schedule(url, "doomed")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(f"{url}/scheduler/schedule/{arn}/run", headers=headers).status_code == 202
    sign_in(page, url, "#/dead-letters")
    row = page.locator("tr", has_text="doomed")
    expect(row).to_be_visible(timeout=15_000)  # the page polls until the engine gives up
    expect(row.locator("td.redriven")).to_have_text("never")
    link = row.get_by_role("link", name="doomed")
    expect(link).to_have_attribute("href", "#/schedule/" + quote(arn, safe=""))
    fail_file.write_text("")  # the cause is fixed
    row.get_by_role("button", name="Redrive").click()
    expect(row.locator(".status-SUCCEEDED")).to_be_visible(timeout=15_000)
    expect(row.locator("td.redriven")).to_contain_text(" UTC (")  # when it was redriven
    shot(page, "dead-letters")
    row.get_by_role("button", name="Dismiss").click()
    expect(page.locator("tr", has_text="doomed")).to_have_count(0)
    letters = httpx.get(f"{url}/scheduler/dead-letters", headers=headers, timeout=10).json()
    assert "doomed" not in [letter["task_id"] for letter in letters["dead_letters"]]


def test_the_overview_counts_and_charts(page: Page, server: tuple[str, Path]) -> None:
    url, _ = server
    schedule(url, "counted")
    sign_in(page, url, "#/")
    expect(page.locator(".card", has_text="enabled")).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "overview")


def test_the_api_docs_load_with_no_network(page: Page, server: tuple[str, Path]) -> None:
    url, _ = server
    page.goto(f"{url}/docs")
    expect(page.get_by_text("Scheduler API").first).to_be_visible()
    page.goto(f"{url}/redoc")
    expect(page.get_by_text("Scheduler API").first).to_be_visible(timeout=15_000)


def test_the_page_is_loopback_only_without_tokens_and_says_what_it_loads(tmp_path: Path) -> None:
    """No browser needed: the page's own rules, as the API's."""
    open_settings = make_local_settings(tmp_path / "o.db", api_tokens=None)
    with TestClient(create_app(open_settings, start_engine=False)) as client:
        assert client.get("/dashboard").status_code == 403  # "testclient" is not loopback
    with TestClient(create_app(make_local_settings(tmp_path / "t.db"), start_engine=False)) as c:
        page = c.get("/dashboard")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        # Signing in needs the dashboard's header too (a cross-site form cannot send it).
        assert c.post("/dashboard/session", json={"token": API_TOKEN}).status_code == 403
        signed = c.post(
            "/dashboard/session", json={"token": API_TOKEN}, headers={"X-Scheduler-Dashboard": "1"}
        )
        assert signed.status_code == 200
        assert "httponly" in signed.headers["set-cookie"].lower()
        assert "samesite=strict" in signed.headers["set-cookie"].lower()


def test_every_path_that_serves_the_page_forbids_framing(tmp_path: Path) -> None:
    """The page has one URL, and every response that carries it also carries its CSP (the
    static mount used to serve a copy with none, which another origin could frame)."""
    with TestClient(create_app(make_local_settings(tmp_path / "s.db"), start_engine=False)) as c:
        paths = [
            "/dashboard", "/dashboard/", "/dashboard/static/index.html", "/dashboard/static/",
            "/dashboard/static", "/dashboard/static/../page.html", "/dashboard/index.html",
            "/dashboard/static/%2e%2e/page.html",
        ]  # fmt: skip
        serving = []
        for path in paths:
            answer = c.get(path)
            if 'id="sign-in"' in answer.text:
                serving.append(str(answer.url.path))
                policy = answer.headers.get("Content-Security-Policy", "")
                assert "frame-ancestors 'none'" in policy, path
                assert "default-src 'self'" in policy, path
        assert set(serving) == {"/dashboard"}
        script = c.get("/dashboard/static/dashboard.js")
        assert script.status_code == 200
        assert script.headers["X-Content-Type-Options"] == "nosniff"


DASHBOARD = {"X-Scheduler-Dashboard": "1"}


def test_sign_in_guesses_are_limited_per_client(tmp_path: Path) -> None:
    """Five wrong tries at once, then one every 10 s (the app's clock, moved by hand)."""
    clock = FakeClock()
    app = create_app(make_local_settings(tmp_path / "s.db"), clock=clock, start_engine=False)
    with TestClient(app, headers=DASHBOARD, client=("198.51.100.1", 1)) as guesser:
        for attempt in range(5):
            wrong = {"token": f"wrong-guess-{attempt:04d}-0000"}
            assert guesser.post("/dashboard/session", json=wrong).status_code == 401
        limited = guesser.post("/dashboard/session", json={"token": API_TOKEN})
        assert limited.status_code == 429  # even the right one, until the wait is over
        assert limited.headers["Retry-After"] == "10"
        assert "set-cookie" not in limited.headers
        clock.advance(timedelta(seconds=9))
        assert guesser.post("/dashboard/session", json={"token": "x" * 20}).status_code == 429
        clock.advance(timedelta(seconds=1))
        for _ in range(3):  # a right token spends nothing
            assert guesser.post("/dashboard/session", json={"token": API_TOKEN}).status_code == 200
        assert guesser.post("/dashboard/session", json={"token": "y" * 20}).status_code == 401
        assert guesser.post("/dashboard/session", json={"token": "z" * 20}).status_code == 429
        # Another client has its own bucket (same app, lifespan already run).
        other = TestClient(app, headers=DASHBOARD, client=("198.51.100.2", 1))
        assert other.post("/dashboard/session", json={"token": API_TOKEN}).status_code == 200


def test_the_cookie_is_a_session_that_dies_with_its_token(tmp_path: Path) -> None:
    """The cookie is not the token; it is refused once its token leaves the settings
    (another token's sessions still work), when tampered with, and after 12 hours."""
    clock = FakeClock()
    kept, removed = "kept-token-0123456789", "removed-token-0123456789"
    db = tmp_path / "s.db"
    both = make_local_settings(db, api_tokens=f"{removed},{kept}")

    def session_of(client: TestClient, token: str) -> str:
        signed = client.post("/dashboard/session", json={"token": token})
        assert signed.status_code == 200
        value: str = signed.cookies["scheduler_session"]
        assert token not in value
        assert value.count(".") == 2
        return value

    def lists(client: TestClient, value: str) -> int:
        client.cookies.clear()
        client.cookies.set("scheduler_session", value)
        status: int = client.get("/scheduler/schedules").status_code
        return status

    with TestClient(create_app(both, clock=clock, start_engine=False), headers=DASHBOARD) as c:
        doomed, lasting = session_of(c, removed), session_of(c, kept)
        assert session_of(c, kept) != lasting  # a new session each time
        assert lists(c, doomed) == 200
        assert lists(c, lasting) == 200
        assert lists(c, removed) == 401  # the raw token is no session
        nonce, issued, mac = lasting.split(".")
        assert lists(c, f"{nonce}x.{issued}.{mac}") == 401  # tampered
        assert lists(c, f"{nonce}.{int(issued) - 1}.{mac}") == 401
    rotated = make_local_settings(db, api_tokens=kept)  # the token is removed: a restart
    with TestClient(create_app(rotated, clock=clock, start_engine=False), headers=DASHBOARD) as c:
        assert lists(c, doomed) == 401
        assert lists(c, lasting) == 200
        c.cookies.set("scheduler_session", doomed)
        assert c.get("/dashboard/session").json() == {
            "tokens_required": True, "signed_in": False,
        }  # fmt: skip
        clock.advance(timedelta(hours=12))
        assert lists(c, lasting) == 401  # expired


def test_a_forged_session_cookie_is_401_never_a_500(tmp_path: Path) -> None:
    """Anyone can send a cookie: an issue time of 5,000 digits (int() refuses more than
    4,300) or of non-ASCII digits is a wrong session, not an unhandled error."""
    app = create_app(make_local_settings(tmp_path / "s.db"), start_engine=False)
    forged = [f"nonce.{'9' * 5000}.mac", "nonce.\u00b2\u00b3.mac", f"nonce.{'1' * 40}.mac"]
    with TestClient(app, headers=DASHBOARD, raise_server_exceptions=False) as client:
        for value in forged:
            cookie = f"scheduler_session={value}".encode("latin-1")
            answer = client.get("/scheduler/schedules", headers=[(b"cookie", cookie)])
            assert answer.status_code == 401, (value[:20], answer.text)
            session = client.get("/dashboard/session", headers=[(b"cookie", cookie)])
            assert session.status_code == 200, (value[:20], session.text)
            assert session.json()["signed_in"] is False


def concurrent_guesses(url: str, source: str, count: int) -> list[int]:
    """`count` wrong sign-ins from `source`, released together by a barrier."""
    barrier = threading.Barrier(count)
    codes: list[int] = []

    def guess(number: int) -> None:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=10) as client:
            barrier.wait()
            answer = client.post(
                f"{url}/dashboard/session",
                json={"token": f"guess-{number:04d}-000000000"},
                headers={"X-Scheduler-Dashboard": "1"},
            )
            codes.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_concurrent_guesses_are_limited_too(server: tuple[str, Path]) -> None:
    """30 wrong guesses released at once against the real server: 5 are answered, the
    rest are 429, in each trial (each from its own loopback address, its own bucket)."""
    url, _ = server
    for trial in range(5):
        codes = concurrent_guesses(url, f"127.0.0.{20 + trial}", 30)
        assert len(codes) == 30
        assert sorted(set(codes)) == [401, 429]
        assert 5 <= codes.count(401) <= 6  # 6 only if a refill came due during the trial


def test_a_rate_schedule_lists_the_fires_of_its_own_anchor(clocked: ClockedApp) -> None:
    """Created at 00:00:30 and opened at 00:07:30: it fires at 00:15:30, 00:30:30, ...
    (a preview from the page's load would say 00:22:30), in UTC and in Paris."""
    arn = clocked.schedule("every-quarter", rate="15 minutes")
    clocked.advance(timedelta(minutes=7))
    clocked.open(arn)
    fires = clocked.page.locator("#fires li")
    expect(fires).to_have_count(5)
    expect(fires.first).to_have_text("2030-01-01 00:15:30 UTC (2030-01-01 01:15:30 CET, in 8 min)")
    expect(fires.nth(1)).to_contain_text("2030-01-01 00:30:30 UTC")
    expect(clocked.page.locator("dd", has_text="ENABLED")).to_be_visible()
    expect(clocked.page.locator("dd", has_text="when created")).to_be_visible()


def test_a_cron_between_its_start_and_end_lists_only_its_two_fires(clocked: ClockedApp) -> None:
    start, end = clocked.clock.now + timedelta(days=3), clocked.clock.now + timedelta(days=5)
    arn = clocked.schedule(
        "two-mornings", cron="0 9 * * ? *", start_date=start.isoformat(), end_date=end.isoformat()
    )
    clocked.open(arn)
    expect(clocked.page.locator("#fires li")).to_have_text([
        "2030-01-04 09:00:00 UTC (2030-01-04 10:00:00 CET, in 3 days)",
        "2030-01-05 09:00:00 UTC (2030-01-05 10:00:00 CET, in 4 days)",
    ])  # fmt: skip
    expect(clocked.page.locator("dd", has_text="2030-01-04 00:00:30 UTC")).to_be_visible()
    expect(clocked.page.locator("dd", has_text="2030-01-06 00:00:30 UTC")).to_be_visible()


def test_a_paused_schedule_lists_no_fire_and_says_paused(clocked: ClockedApp) -> None:
    arn = clocked.schedule("on-hold", cron="0 9 * * ? *")
    assert clocked.api("POST", f"/scheduler/schedule/{arn}/pause").status_code == 200
    clocked.open(arn)
    expect(clocked.page.locator("dd", has_text="DISABLED (paused)")).to_be_visible()
    expect(clocked.page.locator("#fires li")).to_have_text(
        ["none: paused (resume it to fire again)"]
    )


def test_the_task_panel_follows_a_save_and_someone_elses_edit(
    page: Page, server: tuple[str, Path]
) -> None:
    url, _ = server
    arn = schedule(url, "panel", data={"notification_type": "reminder"})
    sign_in(page, url)
    page.get_by_role("link", name="panel").click()
    panel = page.locator("section", has=page.get_by_role("heading", name="Task")).locator("pre")
    expect(panel).to_contain_text('"notification_type": "reminder"')
    page.get_by_label("Data (JSON)").fill('{"notification_type": "digest"}')
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(panel).to_contain_text('"notification_type": "digest"')  # no reload
    outside = httpx.patch(  # someone else, through the API
        f"{url}/scheduler/schedule/{arn}",
        json={"data": {"notification_type": "weekly"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert outside.status_code == 200, outside.text
    expect(panel).to_contain_text('"notification_type": "weekly"')  # the page's poll
    page.evaluate("window.dispatchEvent(new Event('focus'))")  # and back on the tab
    expect(panel).to_contain_text('"notification_type": "weekly"')


def test_the_root_leads_to_the_dashboard(page: Page, server: tuple[str, Path]) -> None:
    url, _ = server
    answer = httpx.get(f"{url}/", timeout=10)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/dashboard"
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/dashboard")
    expect(page.get_by_label("API token")).to_be_visible()


def test_paused_looks_different_from_enabled(page: Page, server: tuple[str, Path]) -> None:
    url, _ = server
    schedule(url, "shade-on")
    arn = schedule(url, "shade-off")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(f"{url}/scheduler/schedule/{arn}/pause", headers=headers).status_code == 200
    sign_in(page, url, "#/schedules?task_id_prefix=shade-")
    on = page.locator("tr", has_text="shade-on").locator(".state")
    off = page.locator("tr", has_text="shade-off").locator(".state")
    expect(off).to_have_text("DISABLED (paused)")
    expect(on).to_have_text("ENABLED")
    style = "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    assert on.evaluate(style) != off.evaluate(style)


def test_every_page_fits_600_px_without_scrolling_sideways(
    browser: Browser, server: tuple[str, Path]
) -> None:
    url, _ = server
    arn = schedule(url, "narrow-view", labels={"team": "growth", "tier": "gold"})
    with app_only_page(browser, url, viewport={"width": 600, "height": 800}) as narrow:
        sign_in(narrow, url)
        expect(narrow.get_by_role("link", name="narrow-view")).to_be_visible()
        where = [
            "#/schedules",
            "#/schedule/" + quote(arn, safe=""),
            "#/dead-letters",
            "#/",
            "#/new",
        ]
        for hash_ in where:
            narrow.goto(f"{url}/dashboard{hash_}")
            expect(narrow.locator("main h2")).to_be_visible()
            overflow = narrow.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (hash_, overflow)
        shot(narrow, "narrow")


def test_duration_is_the_runs_own_time_not_its_backoff(browser: Browser, tmp_path: Path) -> None:
    """A run that raised on every attempt waited between them; its Duration column shows the
    attempts' own time (the API's duration_seconds), less than first start to last end."""
    fail_file = tmp_path / "fail.txt"
    fail_file.write_text("slow-retry\n")
    env = {
        **probe_server_env(tmp_path),
        "SCHEDULER_API_TOKENS": TOKEN,
        "LOCAL_MAX_RETRIES": "2",
        "LOCAL_RETRY_BASE_SECONDS": "0.5",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with scheduler_api(env, cwd=tmp_path) as url, app_only_page(browser, url) as page:
        arn = schedule(url, "slow-retry")
        assert httpx.post(f"{url}/scheduler/schedule/{arn}/run", headers=headers).status_code == 202
        sign_in(page, url, "#/schedule/" + quote(arn, safe=""))
        expect(page.locator("td.status-DEAD_LETTERED")).to_be_visible(timeout=20_000)
        runs = httpx.get(f"{url}/scheduler/tasks/slow-retry/runs", headers=headers).json()
        (run,) = runs["runs"]
        span = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(
            run["started_at"]
        )
        assert run["attempts"] == 3
        assert run["duration_seconds"] < span.total_seconds() - 0.5  # the backoff is left out
        row = page.locator("tr", has=page.locator("td.status-DEAD_LETTERED"))
        expect(row.locator("td").nth(4)).to_have_text(f"{run['duration_seconds']:.2f} s")
