"""The clinic programme's three journeys in a real browser (issue 18): Playwright for Python
driving Debian's Chromium (/usr/bin/chromium; never a browser download) against the server on
loopback, over the demo clinic, on SQLite and on PostgreSQL. Screenshots of each step are kept
in $NEUROREHAB_SCREENSHOTS (default build/screenshots).

- clinician prescribes and reviews: patients and alerts, a patient's record, a forecast run in
  the background, the plans compared, a programme prescribed, a reassessment recorded;
- patient logs a week: the missed days caught up and today's session, after which the
  clinician's no-log alert is gone;
- researcher runs a scenario: the explorer's form, the run's recovery curves, the catalog's
  report.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from webkit import BACKENDS, PASSWORDS, TODAY, database, seed_demo

CHROMIUM = os.environ.get("NEUROREHAB_CHROMIUM", "/usr/bin/chromium")
HAVE_BROWSER = shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not HAVE_BROWSER and not os.environ.get("NEUROREHAB_REQUIRE_BROWSER"),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; CI sets NEUROREHAB_REQUIRE_BROWSER)",
    ),
]
SHOTS = Path(
    os.environ.get("NEUROREHAB_SCREENSHOTS", Path(__file__).resolve().parents[1] / "build" / "screenshots")
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    import uvicorn

    from neurorehab.web.app import create_app
    from neurorehab.web.deps import Settings

    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    with database(request.param, folder) as url:
        seed_demo(url)
        settings = Settings(
            url=url,
            runs_dir=folder / "runs",
            forecast_draws=16,
            fixed_today=TODAY,
            catalog=f"sqlite:///{folder / 'catalog.sqlite'}",
        )
        port = _free_port()
        srv = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.time() + 30
        while not srv.started and time.time() < deadline:
            time.sleep(0.1)
        assert srv.started, "the server did not start"
        yield f"http://127.0.0.1:{port}", request.param
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Journey:
    def __init__(self, browser, base: str, name: str):
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )  # CSP violations land here
        self.base, self.name, self.step = base, name, 0

    def login(self, username: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORDS[username])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, what: str) -> None:
        self.step += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{self.step}-{what}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


def test_clinician_prescribes_and_reviews(server, browser):
    base, backend = server
    j = Journey(browser, base, f"{backend}-clinician")
    page = j.page
    j.login("dr.demo")
    assert page.url.endswith("/clinic")
    rows = page.locator("#patients tr")
    assert rows.count() == 4  # header + the demo's three patients
    assert "no-log" in page.locator("#patients tr", has_text="Ben").inner_text()
    j.shot("patients")
    page.click("text=Ana")
    page.wait_for_selector("#chart-progress[data-drawn='1']")
    j.shot("record")
    page.click("#run-forecast")
    page.wait_for_selector("#forecast-progress", timeout=10_000)
    j.shot("forecast-running")
    page.wait_for_selector("#recommendation", timeout=300_000)  # the page reloads when it is done
    page.wait_for_selector("#chart-progress[data-drawn='1']")
    assert "forecast 10-90 %" in page.content()
    j.shot("forecast")
    page.click("text=Compare the plans and prescribe")
    assert page.locator("#plans tr").count() >= 3
    recommended = page.locator("#plans tr.best td strong").inner_text()
    assert page.locator("#plan").input_value() == recommended
    page.fill("#milestone_score_0", "64")
    page.fill("#milestone_day_0", "120")
    j.shot("programme")
    page.click("#prescribe")
    page.wait_for_load_state()
    assert f"{recommended}</strong>" in page.content()
    page.fill("#score", "60")
    page.click("#record-assessment")
    page.wait_for_selector(".notice")
    assert "FM-UE 60 recorded" in page.locator(".notice").inner_text()
    j.shot("reassessed")
    j.close()


def test_patient_logs_a_week(server, browser):
    base, backend = server
    j = Journey(browser, base, f"{backend}-patient")
    page = j.page
    j.login("ben")
    assert page.url.endswith("/me")
    j.shot("today")
    caught_up = 0
    while page.locator("a.catch-up").count() and caught_up < 10:
        page.locator("a.catch-up").first.click()
        page.wait_for_selector("form.log-form")
        page.locator("form.log-form input[name=pain]").first.fill("2")
        page.locator("form.log-form input[name=fatigue]").first.fill("3")
        page.locator("form.log-form button").first.click()
        page.wait_for_load_state()
        caught_up += 1
    assert caught_up >= 4  # Ben had stopped logging 6 days before (demo_clinic.yaml)
    assert page.locator("#week .done").count() >= caught_up
    j.shot("week-logged")
    j.close()
    # the clinician's no-log alert for Ben is gone (his pain alert stays: it was logged)
    doc = Journey(browser, base, f"{backend}-patient-seen-by-clinician")
    doc.login("dr.demo")
    ben = doc.page.locator("#patients tr", has_text="Ben").inner_text()
    assert "no-log" not in ben
    doc.shot("alerts")
    doc.close()


def test_researcher_runs_a_scenario(server, browser):
    base, backend = server
    j = Journey(browser, base, f"{backend}-researcher")
    page = j.page
    j.login("res.demo")
    assert page.url.endswith("/research")
    page.click("text=Open the scenario explorer")
    page.select_option("#model", "motor")
    page.wait_for_selector("#event option[value='focal-lesion']", state="attached")
    page.fill("#patients", "4")
    page.fill("#duration_days", "60")
    page.fill("#every_days", "14")
    j.shot("explorer")
    page.click("#run-scenario")
    page.wait_for_selector("#run-done", timeout=300_000)
    page.wait_for_selector("div.chart[data-drawn='1']")
    assert page.locator("div.chart").count() == 1
    j.shot("curves")
    page.goto(base + "/research")
    row = page.locator("#catalog tr", has_text="explorer-motor")
    assert row.count() == 1
    row.locator("text=report").click()
    page.wait_for_load_state()
    assert "explorer-motor" in page.content()
    j.shot("report")
    j.context.close()  # the run's report (not this app's page) may hold its own scripts
