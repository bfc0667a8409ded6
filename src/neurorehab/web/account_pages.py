"""Every user's own account: change the password (the current one first; every other session
of the account ends, ASVS 2.1.5 and 3.3.3)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurorehab.web import security
from neurorehab.web.db import AuthSession
from neurorehab.web.deps import audit, check_csrf, db_session, form_of, guard, render

router = APIRouter(prefix="/account")


@router.get("")
def account_page(request: Request, db: Session = Depends(db_session)) -> HTMLResponse:
    who = guard(request, db)
    return render(request, "account.html", who)


@router.post("/password")
async def change_password(request: Request, db: Session = Depends(db_session)) -> Response:
    who = guard(request, db)
    form = await form_of(request)
    check_csrf(request, who, form)
    current, new, again = (str(form.get(k, ""))[:256] for k in ("current", "new", "again"))
    address = request.client.host if request.client else "unknown"
    if security.throttled(db, who.user.username, address):
        return render(request, "account.html", who, 429, error="too many failed attempts: wait 15 minutes")
    if security.authenticate(db, who.user.username, current, address) is None:
        audit(db, who, "password-change-failed")
        db.commit()
        return render(request, "account.html", who, 403, error="the current password is not right")
    problem = security.password_problem(new, who.user.username)
    if problem is None and new != again:
        problem = "the two new passwords differ"
    if problem is None and new == current:
        problem = "the new password is the current one"
    if problem:
        return render(request, "account.html", who, 422, error=f"new password: {problem}")
    who.user.password_hash = security.hash_password(new)
    for row in db.scalars(select(AuthSession).where(AuthSession.user_id == who.user.id)):
        if row.token_hash != who.session.token_hash:
            row.revoked = True  # other devices log in again; this one stays
    audit(db, who, "password-changed")
    db.commit()
    return render(request, "account.html", who, notice="password changed; your other sessions have ended")
