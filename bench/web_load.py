"""Load test of the clinic programme on loopback (issue 18's bar: 50 concurrent simulated users
for 60 s, no error, p95 page time under 300 ms, forecasts excluded).

    python bench/web_load.py                      # 45 patients + 5 clinicians, 60 s, SQLite
    python bench/web_load.py --db postgresql://postgres@127.0.0.1:5432/test --users 50 --seconds 60

The server runs in its own process (`neurorehab serve`'s app under uvicorn, one worker: the
default deployment), on a fresh database holding the demo clinic plus one clinician per 10
users, each with 9 patients under a programme that started a week ago. The load runs in this
process: each simulated user logs in (argon2id: not timed), then repeats until the time is up,
with a think time of 0.5-1.5 s between requests (people read pages; `--think 0` removes it,
a stress test):
- a patient opens their page, catches up a missed day's log when there is one (opens the day's
  page, posts the form), or reads their record through the API;
- a clinician opens the patient list (with every patient's alerts), a patient's record with
  its charts, a programme page, or the audit log.
Every response is timed from request to full body; an error is any status >= 400 or any
exception. Writes bench/results/web_load.json and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

SERVER = """
import sys
from datetime import date
import uvicorn
from neurorehab.web.app import create_app
from neurorehab.web.deps import Settings
url, port, today = sys.argv[1], int(sys.argv[2]), date.fromisoformat(sys.argv[3])
app = create_app(Settings(url=url, fixed_today=today))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""
PASSWORD = "load-test-password"
TODAY = date(2026, 11, 30)  # a Monday


def prepare(url: str, users: int) -> dict[str, list[tuple[str, int | None]]]:
    """Migrate and fill the database; returns clinicians and patients as (username, patient id)."""
    from neurorehab.models.registry import models
    from neurorehab.web import security
    from neurorehab.web.clinic import weekdays_for
    from neurorehab.web.db import Patient, Programme, User, make_engine, sessions, upgrade
    from neurorehab.web.demo import seed

    upgrade(url)
    engine = make_engine(url)
    hashed = security.hash_password(PASSWORD)
    fitted = [n for n, i in models().items() if i.fit is not None]
    out: dict[str, list[tuple[str, int | None]]] = {"clinician": [], "patient": []}
    with sessions(engine)() as db:
        seed(db, TODAY)
        n_clin = max(1, users // 10)
        for c in range(n_clin):
            doc = User(username=f"dr.load{c}", password_hash=hashed, role="clinician")
            db.add(doc)
            db.flush()
            out["clinician"].append((doc.username, None))
            for k in range(9):
                if len(out["patient"]) >= users - n_clin:
                    break
                name = f"p{c}-{k}"
                u = User(username=name, password_hash=hashed, role="patient")
                db.add(u)
                db.flush()
                model = fitted[k % len(fitted)]
                fit = models()[model].fit
                assert fit is not None
                plan = next(p for p, spec in fit.plans.items() if spec.protocol)
                p = Patient(
                    name=name,
                    model=model,
                    onset=TODAY - timedelta(days=30),
                    clinician_id=doc.id,
                    user_id=u.id,
                    calendar_token=security.new_token(),
                )
                db.add(p)
                db.flush()
                per_week = max(int(b["sessions_per_week"]) for b in fit.plans[plan].protocol)
                db.add(
                    Programme(
                        patient_id=p.id,
                        plan=plan,
                        start=TODAY - timedelta(days=7),
                        weekdays=weekdays_for(per_week),
                    )
                )
                out["patient"].append((name, p.id))
        db.commit()
    engine.dispose()
    return out


THINK = (0.5, 1.5)


def pause(rng: random.Random) -> float:
    return rng.uniform(*THINK) if THINK[1] > 0 else 0.0


async def user(
    base: str,
    role: str,
    name: str,
    pid: int | None,
    seconds: float,
    record: list,
    seed: int,
    start: asyncio.Barrier,
) -> None:
    import httpx

    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        own: list[int] = []
        if role == "clinician":
            own = [
                int(x) for x in re.findall(r'href="/clinic/patients/(\d+)"', (await c.get("/clinic")).text)
            ]
        await start.wait()  # everyone logged in (argon2id, not timed): the load starts together
        if r.status_code != 303:
            record.append(("login", r.status_code, 0.0))
            return
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            await asyncio.sleep(pause(rng))
            if time.perf_counter() >= until:
                break
            t = time.perf_counter()
            try:
                if role == "patient":
                    me = await c.get("/me")
                    kind, status = "patient: /me", me.status_code
                    record.append((kind, status, time.perf_counter() - t))
                    link = re.search(r'href="(/me\?day=[0-9-]+)" class="catch-up"', me.text)
                    if link and rng.random() < 0.7:
                        await asyncio.sleep(pause(rng))
                        t = time.perf_counter()
                        day_page = await c.get(link.group(1))
                        record.append(("patient: /me?day=", day_page.status_code, time.perf_counter() - t))
                        form = re.search(
                            r'<form method="post" action="/me/logs".*?</form>', day_page.text, re.S
                        )
                        if form:
                            fields = {}
                            for tag in re.findall(r"<input[^>]*>", form.group(0)):
                                key, value = (
                                    re.search(r'name="([^"]+)"', tag),
                                    re.search(r'value="([^"]*)"', tag),
                                )
                                if key:
                                    fields[key.group(1)] = value.group(1) if value else ""
                            fields.update(
                                pain=str(rng.randint(0, 4)), fatigue=str(rng.randint(0, 5)), difficulty="5"
                            )
                            await asyncio.sleep(pause(rng))
                            t = time.perf_counter()
                            r = await c.post("/me/logs", data=fields)
                            record.append(("patient: POST /me/logs", r.status_code, time.perf_counter() - t))
                    elif rng.random() < 0.5:
                        await asyncio.sleep(pause(rng))
                        t = time.perf_counter()
                        r = await c.get(f"/api/patients/{pid}")
                        record.append(("patient: /api/patients/{id}", r.status_code, time.perf_counter() - t))
                else:
                    what = rng.random()
                    if what < 0.3:
                        path, kind = "/clinic", "clinician: /clinic"
                    elif what < 0.75:
                        path, kind = f"/clinic/patients/{rng.choice(own)}", "clinician: patient record"
                    elif what < 0.9:
                        path, kind = f"/clinic/patients/{rng.choice(own)}/programme", "clinician: programme"
                    else:
                        path, kind = "/clinic/audit", "clinician: audit"
                    r = await c.get(path)
                    record.append((kind, r.status_code, time.perf_counter() - t))
            except Exception as err:
                record.append((f"exception {type(err).__name__}", 599, time.perf_counter() - t))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--think", type=float, default=1.0, help="mean think time, s (0: none, a stress test)")
    args = ap.parse_args()
    global THINK
    THINK = (args.think / 2, args.think * 1.5)
    folder = Path(tempfile.mkdtemp(prefix="nr-load-"))
    url = args.db or f"sqlite:///{folder / 'clinic.sqlite'}"
    people = prepare(url, args.users)
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(args.port), TODAY.isoformat()])
    base = f"http://127.0.0.1:{args.port}"
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        record: list[tuple[str, int, float]] = []

        async def run() -> None:
            everyone = [("clinician", x) for x in people["clinician"]] + [
                ("patient", x) for x in people["patient"]
            ]
            start = asyncio.Barrier(len(everyone))
            tasks = [
                user(base, role, name, pid, args.seconds, record, seed, start)
                for seed, (role, (name, pid)) in enumerate(everyone)
            ]
            await asyncio.gather(*tasks)

        asyncio.run(run())
        wall = args.seconds
    finally:
        server.terminate()
        server.wait(timeout=20)
    times = np.array([r[2] for r in record if r[2] > 0]) * 1000
    errors = [r for r in record if r[1] >= 400]
    kinds = sorted({r[0] for r in record})
    per_kind = {
        k: {
            "n": int(sum(1 for r in record if r[0] == k)),
            "p50_ms": float(np.percentile([r[2] * 1000 for r in record if r[0] == k], 50)),
            "p95_ms": float(np.percentile([r[2] * 1000 for r in record if r[0] == k], 95)),
        }
        for k in kinds
    }
    out = {
        "users": len(people["clinician"]) + len(people["patient"]),
        "clinicians": len(people["clinician"]),
        "patients": len(people["patient"]),
        "seconds": args.seconds,
        "think_s": list(THINK),
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "requests": len(times),
        "requests_per_s": len(times) / wall,
        "errors": len(errors),
        "error_kinds": sorted({f"{r[0]} {r[1]}" for r in errors}),
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "p99_ms": float(np.percentile(times, 99)),
        "max_ms": float(times.max()),
        "per_page": per_kind,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/web_load.json").write_text(json.dumps(out, indent=1))
    who = f"{out['users']} users ({out['clinicians']} clinicians, {out['patients']} patients)"
    print(f"{who}, {args.seconds:g} s, {out['database']}")
    print(f"{out['requests']} requests ({out['requests_per_s']:.1f}/s), {out['errors']} errors")
    q = [f"{k} {out[k + '_ms']:.1f} ms" for k in ("p50", "p95", "p99", "max")]
    print(", ".join(q))
    for k, v in per_kind.items():
        print(f"  {k:32s} n={v['n']:5d}  p50 {v['p50_ms']:6.1f} ms  p95 {v['p95_ms']:6.1f} ms")


if __name__ == "__main__":
    main()
