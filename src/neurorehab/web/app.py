"""The clinic programme's web application (FastAPI, Jinja2, htmx, Plotly.js; nothing external).

`create_app(settings)` builds the app over a migrated database; `neurorehab serve` runs it on
127.0.0.1. Every response carries the security headers (a strict Content-Security-Policy: no
inline script, only this server's files); every request body is size-limited; errors are
plain pages (or JSON under /api/), never a traceback.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab import __version__
from neurorehab.web import security
from neurorehab.web.db import Patient, Programme, make_engine, sessions
from neurorehab.web.deps import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Redirect,
    Settings,
    audit,
    check_csrf,
    db_session,
    form_of,
    guard,
    render,
    templates,
    wants_html,
)
from neurorehab.web.jobs import Jobs

log = logging.getLogger("neurorehab.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.url)
    make_session = sessions(engine)
    jobs = Jobs(make_session, settings.forecast_draws, settings.runs_dir, settings.catalog)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        jobs.shutdown()
        engine.dispose()

    app = FastAPI(
        title="neurorehab clinic",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings, app.state.sessions, app.state.jobs, app.state.engine = (
        settings,
        make_session,
        jobs,
        engine,
    )

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body):
            response: Response = _error(
                request, 413, f"the request is larger than {settings.max_body:,} bytes"
            )
        else:
            response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(Redirect)
    async def _redirect(_request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(request, 422, "; ".join(lines))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _error(request, 500, "something went wrong on the server; it is in the server's log")

    app.mount(
        "/static", StaticFiles(directory=str(resources.files("neurorehab.web") / "static")), name="static"
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/")
    def home(request: Request, db: Session = Depends(db_session)) -> Response:
        who = guard(request, db)
        return RedirectResponse(
            {"clinician": "/clinic", "patient": "/me", "researcher": "/research"}[who.user.role], 303
        )

    @app.get("/login")
    def login_page(request: Request) -> Response:
        token = security.new_token()
        response = render(request, "login.html", None, login_csrf=token)
        _cookie(response, LOGIN_CSRF_COOKIE, token, settings, max_age=3600)
        return response

    @app.post("/login")
    async def login(request: Request, db: Session = Depends(db_session)) -> Response:
        form = await form_of(request)
        if not security.same(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
            raise HTTPException(403, "the login form's security token is missing or stale: reload the page")
        username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:256]
        address = request.client.host if request.client else "unknown"
        if security.throttled(db, username, address):
            audit(db, None, "login-throttled", username=username, address=address)
            db.commit()
            token = security.new_token()
            response = render(
                request,
                "login.html",
                None,
                status=429,
                login_csrf=token,
                error="too many failed logins: wait 15 minutes and try again",
            )
            _cookie(response, LOGIN_CSRF_COOKIE, token, settings, max_age=3600)
            return response
        user = security.authenticate(db, username, password, address)
        if user is None:
            audit(db, None, "login-failed", username=username, address=address)
            db.commit()
            token = security.new_token()
            response = render(
                request, "login.html", None, status=401, login_csrf=token, error="wrong username or password"
            )
            _cookie(response, LOGIN_CSRF_COOKIE, token, settings, max_age=3600)
            return response
        token = security.start_session(db, user)
        audit(db, user, "login", address=address)
        db.commit()
        done = RedirectResponse("/", status_code=303)
        _cookie(done, COOKIE, token, settings)
        done.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return done

    @app.post("/logout")
    async def logout(request: Request, db: Session = Depends(db_session)) -> Response:
        who = guard(request, db)
        check_csrf(request, who, await form_of(request))
        security.end_session(db, request.cookies.get(COOKIE))
        audit(db, who, "logout")
        db.commit()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/calendar/{token}.ics")
    def calendar_feed(token: str, db: Session = Depends(db_session)) -> Response:
        """The programme as an iCalendar feed; the URL's random token is the key (calendar
        apps cannot log in), shown only to the patient and their clinician."""
        from neurorehab.models.registry import get
        from neurorehab.runners.fit_sims import fit_spec
        from neurorehab.web.export import calendar

        if len(token) > 100:
            raise HTTPException(404, "no such calendar")
        patient = db.scalar(select(Patient).where(Patient.calendar_token == token))
        if patient is None or not security.same(token, patient.calendar_token):
            raise HTTPException(404, "no such calendar")
        prog = db.scalar(
            select(Programme).where(Programme.patient_id == patient.id, Programme.active.is_(True))
        )
        body = calendar(patient, fit_spec(get(patient.model)), prog)
        return Response(body, media_type="text/calendar; charset=utf-8")

    from neurorehab.web import account_pages, api, clinic_pages, patient_pages, research_pages

    app.include_router(clinic_pages.router)
    app.include_router(patient_pages.router)
    app.include_router(research_pages.router)
    app.include_router(api.router)
    app.include_router(account_pages.router)
    return app


def _cookie(
    response: Response, name: str, value: str, settings: Settings, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age or security.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def _error(request: Request, status: int, message: str) -> Response:
    if not wants_html(request):
        return JSONResponse({"error": message}, status_code=status)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "request": request,
            "status": status,
            "message": message,
            "user": None,
            "csrf": "",
            "version": __version__,
        },
        status_code=status,
    )
