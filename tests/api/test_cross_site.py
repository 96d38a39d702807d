"""No change is accepted from another site's page (CSRF), in no-token mode above all: the
attacks are a real Chromium page on another local origin (and a file), against the API
under a real uvicorn process with no SCHEDULER_API_TOKENS, as `make run` starts it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from scheduler_api.api.csrf import REFUSED
from scheduler_api.main import create_app
from tests.conftest import AUTH, LocalApp, make_local_settings, task_body
from tests.support.browsers import chromium
from tests.support.processes import probe_server_env, scheduler_api

ATTACK_PAGE = "<!doctype html><title>another origin</title><p>nothing to see"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """No tokens: loopback clients only, which the user's own browser is."""
    home = tmp_path_factory.mktemp("open")
    fail_file = home / "fail.txt"
    with scheduler_api(probe_server_env(home), cwd=home) as url:
        yield url, fail_file


@pytest.fixture(scope="module")
def other_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second local web server (a dev server on another port), and the same page as a
    file (whose requests carry `Origin: null`)."""
    root = tmp_path_factory.mktemp("other-origin")
    (root / "attack.html").write_text(ATTACK_PAGE)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/attack.html", root / "attack.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def create(url: str, task_id: str) -> str:
    body = task_body(task_id, cron="0 9 1 1 ? 2099")
    answer = httpx.post(f"{url}/scheduler/schedule", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    arn: str = answer.json()["schedule_arn"]
    return arn


def state_of(url: str, arn: str) -> str:
    state: str = httpx.get(f"{url}/scheduler/schedule/{arn}", timeout=10).json()["state"]
    return state


def runs_of(url: str, task_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = httpx.get(
        f"{url}/scheduler/tasks/{task_id}/runs", timeout=10
    ).json()["runs"]
    return runs


def dead_letter_of(url: str, task_id: str) -> dict[str, Any] | None:
    letters = httpx.get(f"{url}/scheduler/dead-letters", timeout=10).json()["dead_letters"]
    return next((letter for letter in letters if letter["task_id"] == task_id), None)


def dead_lettered(url: str, fail_file: Path, task_id: str) -> int:
    """A schedule whose one run failed for good (curl-style requests, no browser)."""
    arn = create(url, task_id)
    fail_file.write_text(f"{task_id}\n")
    assert httpx.post(f"{url}/scheduler/schedule/{arn}/run", timeout=10).status_code == 202
    deadline = time.monotonic() + 15
    while (letter := dead_letter_of(url, task_id)) is None:
        assert time.monotonic() < deadline, "the engine never dead-lettered the run"
        time.sleep(0.05)  # polls the real engine of another process, not a clock
    letter_id: int = letter["id"]
    return letter_id


# In the page: what another origin can send without a preflight, including a JSON body
# as text/plain and as a Blob with no Content-Type at all.
ATTACK = """async ([api, posts, create]) => {
  const sent = [];
  for (const path of posts) {
    try { await fetch(api + path, {method: "POST", mode: "no-cors"}); sent.push(path); }
    catch (e) { sent.push("failed " + path); }
  }
  const body = JSON.stringify(create);
  await fetch(api + "/scheduler/schedule", {method: "POST", mode: "no-cors", body});
  const blob = new Blob([body]);
  await fetch(api + "/scheduler/schedule", {method: "POST", mode: "no-cors", body: blob});
  return sent;
}"""


@pytest.mark.parametrize("where", ["another port", "a file"])
def test_another_origins_page_cannot_pause_run_resume_or_redrive(
    page: Page,
    open_server: tuple[str, Path],
    other_origin: tuple[str, Path],
    where: str,
) -> None:
    url, fail_file = open_server
    prefix = "port" if where == "another port" else "file"
    paused_target = create(url, f"{prefix}-pause-me")
    run_target = create(url, f"{prefix}-run-me")
    resume_target = create(url, f"{prefix}-resume-me")
    assert httpx.post(f"{url}/scheduler/schedule/{resume_target}/pause").status_code == 200
    letter = dead_lettered(url, fail_file, f"{prefix}-redrive-me")
    fail_file.write_text("")  # a redrive would now succeed: it must not happen
    page_url, page_file = other_origin
    page.goto(page_url if where == "another port" else page_file.as_uri())
    posts = [
        f"/scheduler/schedule/{paused_target}/pause",
        f"/scheduler/schedule/{run_target}/run",
        f"/scheduler/schedule/{resume_target}/resume",
        f"/scheduler/dead-letters/{letter}/redrive",
    ]
    planted = task_body(f"{prefix}-planted", cron="0 9 1 1 ? 2099")
    sent = page.evaluate(ATTACK, [url, posts, planted])
    assert sent == posts  # each was sent (the browser needs no preflight for them)
    assert state_of(url, paused_target) == "ENABLED"
    assert runs_of(url, f"{prefix}-run-me") == []
    assert state_of(url, resume_target) == "DISABLED"
    redrive = dead_letter_of(url, f"{prefix}-redrive-me")
    assert redrive is not None
    assert redrive["redriven_at"] is None
    planted_lookup = httpx.get(f"{url}/scheduler/schedules", timeout=10).text
    assert f"{prefix}-planted" not in planted_lookup


def test_the_dashboard_still_acts_in_no_token_mode(
    page: Page, open_server: tuple[str, Path]
) -> None:
    """Its own requests are same-origin: the guard lets them through."""
    url, _ = open_server
    create(url, "dashboard-pauses")
    page.goto(f"{url}/dashboard#/schedules")
    page.get_by_role("link", name="dashboard-pauses").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Paused.")).to_be_visible()
    expect(page.locator("dd", has_text="DISABLED")).to_be_visible()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},
        {"Origin": "http://testserver.attacker.example"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Origin": "not a url"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # localhost:3000 beside localhost:8000
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
def test_a_forged_cross_site_change_is_refused_with_a_token_too(
    local_app: LocalApp, headers: dict[str, str]
) -> None:
    """In token mode as well (the bearer token rides along here, as a cookie would): any
    method but GET/HEAD/OPTIONS, the body never read."""
    client = local_app.client
    arn = client.post("/scheduler/schedule", json=task_body("guarded")).json()["schedule_arn"]
    for method, path in [
        ("POST", f"/scheduler/schedule/{arn}/pause"),
        ("POST", f"/scheduler/schedule/{arn}/run"),
        ("DELETE", f"/scheduler/schedule/{arn}"),
        ("PATCH", f"/scheduler/schedule/{arn}"),
        ("POST", "/scheduler/schedule"),
        ("POST", "/dashboard/session"),
    ]:
        refused = client.request(method, path, headers=headers, json={"cron": "0 8 * * ? *"})
        assert refused.status_code == 403, (method, path)
        assert refused.json()["detail"] == REFUSED
        assert refused.json()["request_id"]
    detail = client.get(f"/scheduler/schedule/{arn}").json()
    assert detail["state"] == "ENABLED"
    assert local_app.runs("guarded") == []


def test_curl_style_and_same_origin_changes_still_work(local_app: LocalApp) -> None:
    client = local_app.client
    arn = client.post("/scheduler/schedule", json=task_body("allowed")).json()["schedule_arn"]
    for headers in [
        {},  # curl, Python: no Origin, no Sec-Fetch-*
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://TESTSERVER:80"},  # the same origin, spelled otherwise
        {"Sec-Fetch-Site": "none"},
    ]:
        assert client.post(f"/scheduler/schedule/{arn}/pause", headers=headers).status_code == 200
    # GET is never refused: a cross-site page cannot read the answer (no CORS is granted).
    assert client.get("/scheduler/schedules", headers={"Sec-Fetch-Site": "cross-site"}).is_success


def test_a_json_body_sent_as_text_is_not_json(local_app: LocalApp) -> None:
    """A form or a no-cors fetch can only send text/plain (or no type): FastAPI parses a
    body as JSON only when it says application/json, so neither creates a schedule."""
    client = local_app.client
    body = '{"task_id": "smuggled", "user_id": 1, "action": "a", "data": {}, "delay_minutes": 5}'
    for content_type in ("text/plain;charset=UTF-8", None):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = client.post("/scheduler/schedule", content=body, headers=headers)
        assert answer.status_code == 422
    assert "smuggled" not in client.get("/scheduler/schedules").text


def test_public_url_is_an_origin_of_ours(tmp_path: Path) -> None:
    """Behind a proxy, the browser's Origin is PUBLIC_URL, not the Host the app sees."""
    settings = make_local_settings(tmp_path / "s.db", public_url="https://sched.example.com")
    with TestClient(create_app(settings, start_engine=False), headers=AUTH) as client:
        arn = client.post("/scheduler/schedule", json=task_body("proxied")).json()["schedule_arn"]
        ours = {"Origin": "https://sched.example.com", "Sec-Fetch-Site": "same-origin"}
        assert client.post(f"/scheduler/schedule/{arn}/pause", headers=ours).status_code == 200
        theirs = {"Origin": "https://sched.example.com.attacker.example"}
        assert client.post(f"/scheduler/schedule/{arn}/pause", headers=theirs).status_code == 403
