"""The clinic programme (issue 18) through its HTTP interface, on SQLite and on a real
PostgreSQL server: roles on every route, a patient's record closed to other patients, CSRF,
login throttling, sessions that end, uploads and paths that cannot hurt, security headers,
the audit log, alerts, progression, and the FHIR and iCalendar exports.

References: OWASP ASVS 4.0 level 2 (V2 authentication: 2.2.1 throttling, 2.4 argon2id; V3
sessions: 3.3.1 logout ends the session, 3.4 cookie attributes; V4 access control: 4.1.1,
4.2.1 IDOR; V4.2.2 CSRF; V12 files: 12.1.1 size, 12.3.1 path; V14.4 headers); FHIR R4
(validated by fhir.resources' R4B classes); RFC 5545 (parsed back by the icalendar package).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from webkit import BACKENDS, PASSWORDS, TODAY, csrf_of, database, login, seed_demo

from neurorehab.web.app import create_app
from neurorehab.web.db import Assessment, Audit, AuthSession, Patient, Programme, SessionLog, User
from neurorehab.web.deps import Settings


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"web-{request.param}")
    with database(request.param, folder) as url:
        seed_demo(url)
        app = create_app(
            Settings(
                url=url, runs_dir=folder / "runs", forecast_draws=16, fixed_today=TODAY, max_upload=50_000
            )
        )
        with TestClient(app) as anon:
            yield app, anon


def client(app, username: str | None = None, address: str = "testclient") -> TestClient:
    c = TestClient(app, client=(address, 50000))
    if username:
        r = login(c, username)
        assert r.status_code == 303, r.text[:300]
    return c


def count(app, table, *where) -> int:
    with app.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(table).where(*where)) or 0


def patient_id(app, name: str) -> int:
    with app.state.sessions() as db:
        return db.scalar(select(Patient.id).where(Patient.name == name))


# --- roles on every route ----------------------------------------------------------------

PUBLIC = {"/login", "/healthz", "/calendar/{token}.ics", "/static"}


def _flat(routes):
    """Routes, with those of included routers (FastAPI keeps them apart) flattened in."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        yield from _flat(inner.routes) if inner is not None else [r]


def _routes(app):
    for r in _flat(app.routes):
        path = getattr(r, "path", "")
        if path in PUBLIC or path.startswith("/static"):
            continue
        for method in sorted(getattr(r, "methods", None) or []):
            if method in ("GET", "POST"):
                yield (
                    method,
                    path.replace("{patient_id}", "1")
                    .replace("{job_id}", "1")
                    .replace("{run_id}", "1")
                    .replace("{token}", "x"),
                )


def test_every_route_needs_a_session_and_the_right_role(clinic):
    app, anon = clinic
    routes = list(_routes(app))
    assert len(routes) >= 20, routes
    for method, path in routes:
        r = anon.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
        else:
            assert r.status_code == 303 and r.headers["location"] == "/login", (method, path, r.status_code)
    wrong = {"/clinic": "ana", "/me": "dr.demo", "/research": "ana"}
    for prefix, user in wrong.items():
        c = client(app, user)
        for method, path in routes:
            if path.startswith(prefix) and method == "GET":
                assert c.get(path, follow_redirects=False).status_code == 403, (user, path)


def test_passwords_are_argon2id_hashes_and_never_stored(clinic):
    app, _ = clinic
    with app.state.sessions() as db:
        users = list(db.scalars(select(User)))
    assert users and all(u.password_hash.startswith("$argon2id$") for u in users)
    assert not any(p in u.password_hash for u in users for p in PASSWORDS.values())


# --- a patient's record is theirs ---------------------------------------------------------


def test_a_patient_cannot_read_or_change_another_patients_record(clinic):
    app, _ = clinic
    ana, ben = patient_id(app, "Ana"), patient_id(app, "Ben")
    c = client(app, "ana")
    me = c.get("/me")
    assert me.status_code == 200 and "Ana" in me.text and "Ben" not in me.text
    assert c.get(f"/api/patients/{ana}").json()["name"] == "Ana"
    # by API and by guessed id: not found (not even "forbidden": the id is not confirmed)
    for pid in (ben, ben + 100, 0, -1):
        assert c.get(f"/api/patients/{pid}").status_code in (404, 422)
    before = count(app, SessionLog, SessionLog.patient_id == ben)
    token = csrf_of(me.text)
    r = c.post(
        f"/api/patients/{ben}/logs",
        json={"exercise": "x", "done": 1, "difficulty": 1, "pain": 0, "fatigue": 0},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 404
    assert count(app, SessionLog, SessionLog.patient_id == ben) == before
    # by page: the clinician's pages are closed to a patient whatever the id
    assert c.get(f"/clinic/patients/{ben}").status_code == 403
    assert c.get(f"/clinic/patients/{ben}/export.json").status_code == 403
    # the export of their own record holds only theirs
    bundle = c.get("/me/export.json").json()
    patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert [p["name"][0]["text"] for p in patients] == ["Ana"]
    subjects = {e["resource"].get("subject", {}).get("reference") for e in bundle["entry"]} - {None}
    assert subjects == {f"Patient/{ana}"}


def test_a_clinician_reaches_only_their_own_patients(clinic):
    app, _ = clinic
    with app.state.sessions() as db:
        from neurorehab.web import security

        other = User(
            username="dr.other", password_hash=security.hash_password("other-clinician-1"), role="clinician"
        )
        db.add(other)
        db.commit()
    c = client(app)
    assert login(c, "dr.other", "other-clinician-1").status_code == 303
    ana = patient_id(app, "Ana")
    assert c.get(f"/clinic/patients/{ana}").status_code == 404
    assert c.get(f"/api/patients/{ana}").status_code == 404
    assert "Ana" not in c.get("/clinic").text
    assert c.get("/api/patients").json() == []


# --- CSRF ----------------------------------------------------------------------------------


def _posts(app, pid: int):
    return [
        ("dr.demo", f"/clinic/patients/{pid}/assessments", {"instrument": "FM-UE", "score": "50"}),
        ("dr.demo", f"/clinic/patients/{pid}/programme", {"plan": "usual-care", "start": TODAY.isoformat()}),
        ("dr.demo", f"/clinic/patients/{pid}/forecast", {}),
        ("dr.demo", f"/clinic/patients/{pid}/upload", {}),
        ("dr.demo", f"/clinic/patients/{pid}/account", {"action": "disable"}),
        ("dr.demo", "/clinic/patients", {"name": "X", "model": "motor", "onset": TODAY.isoformat()}),
        (
            "ana",
            "/me/logs",
            {"exercise": "task-practice", "done": "10", "difficulty": "3", "pain": "1", "fatigue": "1"},
        ),
        ("res.demo", "/research/explore", {"model": "motor"}),
        ("res.demo", "/account/password", {"current": "x", "new": "y", "again": "y"}),
        ("ana", "/logout", {}),
    ]


def test_every_state_change_without_a_csrf_token_is_refused_and_changes_nothing(clinic):
    app, _ = clinic
    pid = patient_id(app, "Ben")
    tables = (Assessment, Programme, SessionLog, Patient, User)

    def state():  # the records, and the audit of changes to them (logins are audited too)
        return [count(app, t) for t in tables] + [count(app, Audit, Audit.patient_id.is_not(None))]

    before = state()
    posts = _posts(app, pid)
    post_routes = {p for m, p in _routes(app) if m == "POST"} - {"/login"}
    assert {p.replace(str(pid), "1") for _, p, _ in posts} >= {
        p for p in post_routes if not p.startswith("/api/")
    }
    for user, path, data in posts:
        c = client(app, user)
        for token in (None, "forged-token"):
            form = dict(data, **({"csrf_token": token} if token else {}))
            r = c.post(path, data=form, follow_redirects=False)
            assert r.status_code == 403, (path, token, r.status_code)
        api = c.post(f"/api/patients/{patient_id(app, 'Ana')}/logs", json={"exercise": "x"})
        assert api.status_code == 403  # the token is checked before anything else
    assert state() == before
    # a session's own token passes (the refusal above was the token's, not the form's)
    c = client(app, "dr.demo")
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    ok = c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "FM-UE", "score": "51", "csrf_token": token},
    )
    assert ok.status_code == 200 and "recorded" in ok.text


def test_login_form_needs_its_token(clinic):
    app, _ = clinic
    c = client(app)
    r = c.post("/login", data={"username": "ana", "password": PASSWORDS["ana"]}, follow_redirects=False)
    assert r.status_code == 403


# --- login throttling, logout, disabled accounts ------------------------------------------------


def test_repeated_failed_logins_are_throttled(clinic):
    app, _ = clinic
    from neurorehab.web import security

    with app.state.sessions() as db:
        hashed = security.hash_password("target-password-1")
        db.add(User(username="target", password_hash=hashed, role="researcher"))
        db.commit()
    c = client(app, address="203.0.113.7")
    for _ in range(5):
        assert login(c, "target", "wrong-password-x").status_code == 401
    # now even the right password is refused, for this user and from this address
    r = login(client(app, address="198.51.100.9"), "target", "target-password-1")
    assert r.status_code == 429 and "too many" in r.text
    assert login(client(app, address="203.0.113.7"), "res.demo").status_code == 429
    # another address, another user: not affected
    assert login(client(app, address="198.51.100.2"), "res.demo").status_code == 303
    with app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.action == "login-failed")) >= 5


def test_a_logged_out_session_no_longer_works(clinic):
    app, _ = clinic
    c = client(app, "res.demo")
    cookie = c.cookies.get("nr_session")
    assert c.get("/research").status_code == 200
    token = csrf_of(c.get("/research").text)
    assert c.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={"nr_session": cookie})
    assert replay.get("/research", follow_redirects=False).status_code == 303
    assert replay.get("/api/me").status_code == 401


def test_disabling_an_account_ends_its_sessions(clinic):
    app, _ = clinic
    patient = client(app, "ana")
    assert patient.get("/me").status_code == 200
    doc = client(app, "dr.demo")
    pid = patient_id(app, "Ana")
    token = csrf_of(doc.get(f"/clinic/patients/{pid}").text)
    doc.post(f"/clinic/patients/{pid}/account", data={"action": "disable", "csrf_token": token})
    assert patient.get("/me", follow_redirects=False).status_code == 303
    assert login(client(app), "ana").status_code == 401
    token = csrf_of(doc.get(f"/clinic/patients/{pid}").text)
    doc.post(f"/clinic/patients/{pid}/account", data={"action": "enable", "csrf_token": token})
    assert login(client(app), "ana").status_code == 303
    with app.state.sessions() as db:
        uid = db.scalar(select(User.id).where(User.username == "ana"))
        assert db.scalar(select(func.count()).select_from(AuthSession).where(AuthSession.user_id == uid)) >= 2


# --- paths and uploads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/research/runs/..%2f..%2f..%2fetc%2fpasswd/report",
        "/calendar/..%2f..%2fetc%2fpasswd.ics",
    ],
)
def test_path_traversal_gets_not_found(clinic, path):
    app, _ = clinic
    r = client(app, "res.demo").get(path, follow_redirects=False)
    assert r.status_code == 404, (path, r.status_code)
    assert "import" not in r.text and "root:" not in r.text


def _upload(c, pid: int, name: str, body: bytes):
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    return c.post(
        f"/clinic/patients/{pid}/upload", data={"csrf_token": token}, files={"file": (name, body, "text/csv")}
    )


def test_uploads_are_size_limited_and_parsed_with_plain_errors(clinic):
    app, _ = clinic
    c = client(app, "dr.demo")
    pid = patient_id(app, "Cleo")
    before = count(app, Assessment, Assessment.patient_id == pid)
    big = b"patient,instrument,score,days_since_onset\n" + b"P,PCL-5,40,3\n" * 10_000
    r = _upload(c, pid, "big.csv", big)
    assert r.status_code == 413 and "larger than" in r.text
    r = _upload(c, pid, "bad.csv", b"patient,instrument,score,days_since_onset\nP,PCL-5,forty,3\n")
    assert r.status_code == 422 and "row 1 (line 2), column 'score'" in unescape(r.text)
    assert "Traceback" not in r.text
    r = _upload(c, pid, "bad.json", b'{"resourceType": "Bundle", "entry": [{"resource": ')
    assert r.status_code == 422 and "bad.json" in r.text and "Traceback" not in r.text
    r = _upload(c, pid, "bin.csv", b"\xff\xfe\x00garbage")
    assert r.status_code == 422 and "UTF-8" in r.text
    assert count(app, Assessment, Assessment.patient_id == pid) == before
    r = _upload(c, pid, "ok.csv", b"patient,instrument,score,days_since_onset\nP,PCL-5,41,90\n")
    assert r.status_code == 200 and "1 assessments imported" in r.text
    assert count(app, Assessment, Assessment.patient_id == pid) == before + 1
    # a body over the server's limit is refused before it is read
    huge = c.post("/clinic/patients", content=b"x" * 10, headers={"content-length": str(10**9)})
    assert huge.status_code == 413


def test_bad_form_input_gets_a_plain_error_naming_the_field(clinic):
    app, _ = clinic
    c = client(app, "dr.demo")
    pid = patient_id(app, "Ben")
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    r = c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "FM-UE", "score": "99", "csrf_token": token},
    )
    assert r.status_code == 422 and "score: 99 is outside 0 to 66" in r.text
    r = c.post(
        f"/clinic/patients/{pid}/programme", data={"plan": "yoga", "start": "2026-12-01", "csrf_token": token}
    )
    assert r.status_code == 422 and "plan: 'yoga' is not in the library" in unescape(r.text)
    assert c.get("/clinic/patients/abc").status_code == 422


# --- headers and cookies --------------------------------------------------------------------------


def test_security_headers_and_cookie_attributes(clinic):
    app, _ = clinic
    c = client(app)
    r = c.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    r = login(c, "res.demo")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "<script>" not in c.get("/research").text  # no inline script anywhere


# --- the record: audit, alerts, progression, exports --------------------------------------------


def test_changes_to_a_record_are_audited(clinic):
    app, _ = clinic
    pid = patient_id(app, "Cleo")
    before = count(app, Audit, Audit.patient_id == pid)
    c = client(app, "dr.demo")
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "PCL-5", "score": "60", "csrf_token": token},
    )
    with app.state.sessions() as db:
        rows = list(db.scalars(select(Audit).where(Audit.patient_id == pid).order_by(Audit.id)))
    assert len(rows) >= before + 1
    assert rows[-1].action in ("assessment-recorded", "progression") and rows[-1].user_id is not None
    assert "PCL-5" in client(app, "dr.demo").get("/clinic/audit").text


def test_clinician_sees_the_demo_alerts(clinic):
    """The demo's Ben stopped logging 6 days ago after painful sessions (demo_clinic.yaml)."""
    app, _ = clinic
    page = client(app, "dr.demo").get(f"/clinic/patients/{patient_id(app, 'Ben')}").text
    assert "no session logged since" in page and "above the plan's limit 5" in unescape(page)


def test_patient_logs_and_the_adherence_follows(clinic):
    app, _ = clinic
    c = client(app, "cleo")
    page = c.get("/me").text
    pid = patient_id(app, "Cleo")
    with app.state.sessions() as db:
        prog = db.scalar(select(Programme).where(Programme.patient_id == pid, Programme.active.is_(True)))
        weekday = prog.weekdays.split(",")[0]
    days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    target = TODAY - timedelta(days=(TODAY.weekday() - days.index(weekday)) % 7)
    # catching up a missed day within the week is allowed; a day more than 7 days back is not
    token = csrf_of(page)
    form = {"exercise": "prolonged-exposure", "done": "45", "difficulty": "6", "pain": "2", "fatigue": "3"}
    with app.state.sessions() as db:
        db.query(SessionLog).filter(SessionLog.patient_id == pid, SessionLog.day == target).delete()
        db.commit()
    r = c.post("/me/logs", data=dict(form, day=target.isoformat(), csrf_token=token))
    assert r.status_code in (200, 303)
    r = c.post("/me/logs", data=dict(form, day=target.isoformat(), csrf_token=token))
    assert r.status_code == 409  # logged already
    api = c.post(
        f"/api/patients/{pid}/logs", json=dict(form, day=target.isoformat()), headers={"X-CSRF-Token": token}
    )
    assert api.status_code == 409 and "logged already" in api.json()["error"]  # by API alike
    r = c.post("/me/logs", data=dict(form, day=(TODAY - timedelta(days=30)).isoformat(), csrf_token=token))
    assert r.status_code == 422 and "within the last 7 days" in r.text
    r = c.post("/me/logs", data=dict(form, pain="11", day=TODAY.isoformat(), csrf_token=token))
    assert r.status_code == 422


def test_progression_at_a_reassessment_uses_the_simulators_rule(clinic):
    """core.progression: dose up by 1.25 when the improvement since the last reassessment
    reaches the milestone; the first reassessment only records the reference."""
    app, _ = clinic
    c = client(app, "dr.demo")
    pid = patient_id(app, "Ana")
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    r = c.post(
        f"/clinic/patients/{pid}/programme",
        data={
            "plan": "high-dose-practice",
            "start": (TODAY - timedelta(days=14)).isoformat(),
            "progress_step": "3",
            "pain_limit": "9",
            "csrf_token": token,
        },
    )
    assert r.status_code == 200
    day = TODAY.isoformat()
    first = c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "FM-UE", "score": "55", "date": day, "csrf_token": token},
    )
    assert "baseline recorded" in first.text
    up = c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "FM-UE", "score": "59", "date": day, "csrf_token": token},
    )
    assert "milestone met: dose up (dose x1.25)" in up.text
    hold = c.post(
        f"/clinic/patients/{pid}/assessments",
        data={"instrument": "FM-UE", "score": "60", "date": day, "csrf_token": token},
    )
    assert "milestone not met: hold (dose x1.25)" in hold.text


def test_fhir_export_is_a_valid_r4_bundle_with_the_whole_record(clinic):
    from fhir.resources.R4B.bundle import Bundle

    app, _ = clinic
    pid = patient_id(app, "Ben")
    r = client(app, "dr.demo").get(f"/clinic/patients/{pid}/export.json")
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(r.json())
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    for kind in ("Patient", "CarePlan", "Goal", "Observation", "QuestionnaireResponse"):
        assert kind in kinds, kind
    assert kinds.count("Observation") == count(app, Assessment, Assessment.patient_id == pid)
    assert kinds.count("QuestionnaireResponse") == count(app, SessionLog, SessionLog.patient_id == pid)


def test_calendar_feed_holds_the_programme(clinic):
    from icalendar import Calendar

    app, _ = clinic
    pid = patient_id(app, "Ben")
    with app.state.sessions() as db:
        p = db.get(Patient, pid)
        prog = db.scalar(select(Programme).where(Programme.patient_id == pid, Programme.active.is_(True)))
    r = TestClient(app).get(f"/calendar/{p.calendar_token}.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    sessions = [e for e in events if "session" in str(e["summary"])]
    assert len(sessions) == 1
    rule = sessions[0]["rrule"]
    assert rule["FREQ"] == ["WEEKLY"] and ",".join(rule["BYDAY"]) == prog.weekdays
    assert sessions[0]["dtstart"].dt.date() == prog.start
    assert len(events) - 1 == (6 * 7) // prog.reassess_every_days  # a 6-week plan
    assert TestClient(app).get("/calendar/not-a-token.ics").status_code == 404


def test_database_is_at_the_latest_migration(clinic):
    from alembic.script import ScriptDirectory

    from neurorehab.web.db import _alembic_config, current

    app, _ = clinic
    url = app.state.settings.url
    head = ScriptDirectory.from_config(_alembic_config(url)).get_current_head()
    assert current(url) == head


def test_alerts_from_their_definitions():
    """Unit test of web.clinic.alerts on hand-made records (each alert alone)."""
    from neurorehab.models.registry import get
    from neurorehab.runners.fit_sims import fit_spec
    from neurorehab.web.clinic import alerts

    fit = fit_spec(get("motor"))
    monday = date(2026, 11, 30)
    p = Patient(
        id=1, name="T", model="motor", onset=monday - timedelta(days=30), pain_limit=5.0, no_log_days=3
    )
    prog = Programme(
        id=1,
        patient_id=1,
        plan="usual-care",
        start=monday - timedelta(days=14),
        weekdays="MO,TU,WE,TH,FR",
        dose=1.0,
        progression={"pain_limit": 5.0},
    )

    def log(day, done=30, pain=1):
        return SessionLog(
            patient_id=1,
            day=day,
            exercise="task-practice",
            prescribed=30,
            done=done,
            pain=pain,
            fatigue=1,
            difficulty=3,
        )

    every = [
        log(prog.start + timedelta(days=k))
        for k in range(15)
        if (prog.start + timedelta(days=k)).weekday() < 5
    ]
    assert alerts(p, fit, prog, every, [], None, monday) == []
    # no log since the Wednesday before: Thursday, Friday and Monday scheduled -> 3 days
    quiet = [g for g in every if g.day <= monday - timedelta(days=5)]
    kinds = [a.kind for a in alerts(p, fit, prog, quiet, [], None, monday)]
    assert "no-log" in kinds
    painful = [*every[:-1], log(monday, pain=7)]
    assert [a.kind for a in alerts(p, fit, prog, painful, [], None, monday)] == ["pain"]
    half = [log(g.day, done=10) if g.day > monday - timedelta(days=7) else g for g in every]
    assert [a.kind for a in alerts(p, fit, prog, half, [], None, monday)] == ["adherence"]
    forecast = {
        "current_plan": "usual-care",
        "days": [0, 30, 60],
        "plans": {"usual-care": {"p10": [10, 40, 50], "p90": [30, 60, 66]}},
    }
    low = [Assessment(patient_id=1, instrument="FM-UE", day=30, score=35)]
    assert [a.kind for a in alerts(p, fit, prog, every, low, forecast, monday)] == ["below-forecast"]
    fine = [Assessment(patient_id=1, instrument="FM-UE", day=30, score=45)]
    assert alerts(p, fit, prog, every, fine, forecast, monday) == []


def test_forecast_runs_in_the_background_and_draws_the_band(clinic):
    """A forecast request returns at once with progress; the page polls; the result holds
    the current plan's band and a recommendation, and the record page draws them."""
    import time

    app, _ = clinic
    c = client(app, "dr.demo")
    pid = patient_id(app, "Ben")
    token = csrf_of(c.get(f"/clinic/patients/{pid}").text)
    t = time.perf_counter()
    r = c.post(f"/clinic/patients/{pid}/forecast", data={"csrf_token": token})
    assert r.status_code == 200 and time.perf_counter() - t < 5 and "Forecasting" in r.text
    job = int(r.text.split("/forecast/")[1].split('"')[0])
    deadline = time.time() + 300
    while time.time() < deadline:
        s = c.get(f"/clinic/patients/{pid}/forecast/{job}")
        if "Forecast ready" in s.text or "failed" in s.text:
            break
        time.sleep(1)
    assert "Forecast ready" in s.text and s.headers.get("hx-refresh") == "true", s.text[:500]
    page = c.get(f"/clinic/patients/{pid}").text
    assert "forecast 10-90 %" in page and 'id="recommendation"' in page
    data = json.loads(page.split('id="data-progress">')[1].split("</script>")[0])
    band = next(t for t in data["traces"] if t.get("fill") == "tonexty")
    assert len(band["x"]) > 5 and all(
        lo <= hi for lo, hi in zip(band["y"], data["traces"][0]["y"], strict=True)
    )
    prog = c.get(f"/clinic/patients/{pid}/programme").text
    assert "Recommended:" in prog and "P(milestone)" in prog


# --- the command line ---------------------------------------------------------------------------


def test_cli_db_upgrade_and_create_user(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from neurorehab.cli.app import app
    from neurorehab.web import security

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    r = CliRunner().invoke(app, ["db", "upgrade", "--db", url])
    assert r.exit_code == 0 and "is at revision 0001" in r.output, r.output
    answers = iter(["short", "short"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    r = CliRunner().invoke(app, ["db", "create-user", "dr.lee", "--db", url])
    assert r.exit_code == 2 and "at least 10 characters" in r.output
    answers = iter(["a-long-password-1", "a-long-password-1"])
    r = CliRunner().invoke(app, ["db", "create-user", "dr.lee", "--role", "clinician", "--db", url])
    assert r.exit_code == 0 and "added clinician dr.lee" in r.output, r.output
    from neurorehab.web.db import make_engine, sessions

    engine = make_engine(url)
    with sessions(engine)() as db:
        user = db.scalar(select(User).where(User.username == "dr.lee"))
        assert user is not None and user.role == "clinician"
        assert security.authenticate(db, "dr.lee", "a-long-password-1", "t") is not None
    engine.dispose()
    r = CliRunner().invoke(app, ["db", "create-user", "x", "--role", "admin", "--db", url])
    assert r.exit_code == 2 and "use one of clinician, patient, researcher" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--host", "everywhere"], "is not an IP address"),
        (["serve", "--db", "mysql://x/y"], "use a sqlite:/// or postgresql:// URL"),
        (["serve", "--draws", "2"], "--draws 2: use 8 to 1000"),
        (
            ["db", "upgrade", "--db", "postgresql://nobody:secret-pw@127.0.0.1:1/x"],
            "cannot migrate the database",
        ),
    ],
)
def test_cli_bad_options_get_plain_errors(args, message):
    from typer.testing import CliRunner

    from neurorehab.cli.app import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    assert "secret-pw" not in r.output  # a URL's password is never echoed


def test_changing_a_password_needs_the_current_one_and_ends_other_sessions(clinic):
    app, _ = clinic
    from neurorehab.web import security

    with app.state.sessions() as db:
        db.add(
            User(
                username="pw.user",
                password_hash=security.hash_password("first-password-1"),
                role="researcher",
            )
        )
        db.commit()
    here, there = client(app, address="192.0.2.10"), client(app, address="192.0.2.11")
    for c in (here, there):
        assert login(c, "pw.user", "first-password-1").status_code == 303
    token = csrf_of(here.get("/account").text)
    form = {
        "csrf_token": token,
        "current": "wrong-password-1",
        "new": "second-password-2",
        "again": "second-password-2",
    }
    assert here.post("/account/password", data=form).status_code == 403
    form["current"] = "first-password-1"
    assert here.post("/account/password", data=dict(form, new="short", again="short")).status_code == 422
    assert here.post("/account/password", data=dict(form, again="other-password-3")).status_code == 422
    r = here.post("/account/password", data=form)
    assert r.status_code == 200 and "password changed" in r.text
    assert here.get("/research", follow_redirects=False).status_code == 200  # this session stays
    assert there.get("/research", follow_redirects=False).status_code == 303  # the other one ended
    assert login(client(app, address="192.0.2.12"), "pw.user", "first-password-1").status_code == 401
    assert login(client(app, address="192.0.2.13"), "pw.user", "second-password-2").status_code == 303
    with app.state.sessions() as db:
        actions = set(db.scalars(select(Audit.action).where(Audit.action.like("password-%"))))
    assert actions == {"password-changed", "password-change-failed"}


def test_each_block_runs_on_its_own_sessions_a_week():
    """A plan's blocks keep their sessions a week within the programme's weekdays (motor's
    cimt plan: 2 weeks of daily CIMT, then usual care 5 days a week)."""
    from neurorehab.models.registry import get
    from neurorehab.runners.fit_sims import fit_spec
    from neurorehab.web.clinic import exercises_on, weekdays_for

    fit = fit_spec(get("motor"))
    monday = date(2026, 11, 30)
    prog = Programme(plan="cimt", start=monday, weekdays=weekdays_for(7), dose=1.0)
    first = [len(exercises_on(fit, prog, monday + timedelta(days=k))) for k in range(14)]
    later = [len(exercises_on(fit, prog, monday + timedelta(days=k))) for k in range(14, 28)]
    assert sum(first) == 14 and sum(later) == 10
    assert [exercises_on(fit, prog, monday + timedelta(days=k))[0].name for k in (0, 14)] == [
        "cimt",
        "task-practice",
    ]
    three = Programme(plan="usual-care", start=monday, weekdays="MO,WE,FR", dose=1.0)
    assert sum(len(exercises_on(fit, three, monday + timedelta(days=k))) for k in range(7)) == 3


def test_what_users_type_is_escaped_on_every_page(clinic):
    """A name or a note holding markup is shown as text (Jinja's autoescape; chart data goes
    through `tojson`, which escapes `<`), never run."""
    app, _ = clinic
    c = client(app, "dr.demo")
    token = csrf_of(c.get("/clinic/patients/new").text)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = c.post(
        "/clinic/patients",
        data={
            "name": evil,
            "model": "motor",
            "onset": (TODAY - timedelta(days=20)).isoformat(),
            "csrf_token": token,
        },
    )
    assert r.status_code == 200
    for page in (r.text, c.get("/clinic").text, c.get("/clinic/audit").text):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page or "\\u003cscript\\u003e" in page
