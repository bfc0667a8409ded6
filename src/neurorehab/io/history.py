"""A real patient's history: assessments (and session logs) from a tidy CSV or FHIR R4.

Instruments are mapped to the model's declared ones through their aliases
(`core.spec.Instrument`), compared case-blind; each assessment keeps where it came from (row or
resource path) so that every error and note can point at it. Dates become days since onset.

CSV, one row per record, a header naming the columns:
  patient            the patient's id (optional when the file holds one patient)
  instrument         an instrument the model declares, or one of its aliases
  score              the score, within the instrument's range
  days_since_onset   days since onset, or give `date` (YYYY-MM-DD) and the onset
                     (column `onset_date` on any row, or `onset=`)
  record             optional: "assessment" (default) or "session" (a therapy log: give
                     `intervention` and `minutes` or `repetitions`; instrument and score empty)
FHIR R4 (read with fhir.resources' R4B classes): a Bundle, one resource, or NDJSON of
resources. Observations give assessments (code.coding code/display or code.text ->
instrument; valueQuantity.value or valueInteger -> score; effectiveDateTime or
effectivePeriod.start -> date; subject.reference -> patient); a Condition's onsetDateTime gives
the onset; Procedures (code.text, performedDateTime) give session logs. Observations with status
entered-in-error or cancelled are skipped, with a note.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from neurorehab.config.inputs import InputError, read_bytes, shorten
from neurorehab.core.spec import Instrument

MAX_HISTORY_BYTES = 20_000_000
MAX_ERRORS = 20


class HistoryError(ValueError):
    """A history file that cannot be read; `lines` say where (row and column, or resource
    path) and why, and what would be valid."""

    def __init__(self, lines: list[str], source: str):
        self.lines, self.source = lines, source
        super().__init__(f"{source}: " + "; ".join(lines))


@dataclass(frozen=True)
class Assessment:
    instrument: str  # the model's name for it
    day: float  # since onset
    score: float
    where: str  # "row 4" or "entry[2].resource"


@dataclass(frozen=True)
class Session:
    day: float
    intervention: str
    minutes: float | None
    repetitions: float | None
    where: str


@dataclass(frozen=True)
class History:
    patient: str
    onset: date | None
    assessments: tuple[Assessment, ...]
    sessions: tuple[Session, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _alias_table(instruments: dict[str, Instrument]) -> dict[str, str]:
    table = {}
    for name, ins in instruments.items():
        for alias in (name, *ins.aliases):
            table[alias.strip().lower()] = name
    return table


def _known(instruments: dict[str, Instrument]) -> str:
    return "; ".join(f"{n} ({', '.join(i.aliases[:3])})" for n, i in instruments.items())


def _date(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _number(text: Any) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def read_history(
    path: str | Path,
    instruments: dict[str, Instrument],
    *,
    patient: str | None = None,
    onset: date | None = None,
) -> History:
    """A CSV or FHIR file (by its first non-blank character: `{` is FHIR JSON) -> History."""
    source = str(path)
    try:
        raw = read_bytes(path, MAX_HISTORY_BYTES, "history file")
    except InputError as err:
        raise HistoryError(err.lines, source) from None
    return parse_history(raw, instruments, source=source, patient=patient, onset=onset)


def parse_history(
    raw: bytes,
    instruments: dict[str, Instrument],
    *,
    source: str = "upload",
    patient: str | None = None,
    onset: date | None = None,
) -> History:
    """The bytes of a CSV or FHIR history (an upload) -> History; `source` names it in errors."""
    if len(raw) > MAX_HISTORY_BYTES:
        raise HistoryError([f"{len(raw):,} bytes: at most {MAX_HISTORY_BYTES:,}"], source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise HistoryError(
            [f"not UTF-8 text (byte {err.start}): save it as UTF-8 CSV or FHIR JSON"], source
        ) from None
    if text.lstrip().startswith("{"):
        return _fhir(text, instruments, patient, onset, source)
    return _csv(text, instruments, patient, onset, source)


# --- CSV -------------------------------------------------------------------------------------


def _csv(
    text: str, instruments: dict[str, Instrument], patient: str | None, onset: date | None, source: str
) -> History:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise HistoryError(
            [
                "the file is empty: give a header (patient, instrument, score, days_since_onset) "
                "and one row per assessment"
            ],
            source,
        )
    header = [h.strip().lower() for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    missing = [c for c in ("instrument", "score") if c not in col]
    if "days_since_onset" not in col and "date" not in col:
        missing.append("days_since_onset (or date)")
    if missing:
        raise HistoryError(
            [f"missing column(s) {', '.join(missing)}; the header has: {', '.join(header)}"], source
        )
    errors: list[str] = []

    def cell(r: list[str], name: str) -> str:
        i = col.get(name)
        return r[i].strip() if i is not None and i < len(r) else ""

    body = rows[1:]
    ids = sorted({cell(r, "patient") for r in body if cell(r, "patient")})
    if patient is None and len(ids) > 1:
        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
        raise HistoryError([f"the file holds {len(ids)} patients ({shown}); choose one (--patient)"], source)
    chosen = patient if patient is not None else (ids[0] if ids else "patient")
    if patient is not None and patient not in ids:
        raise HistoryError(
            [f"no rows for patient {shorten(patient)}; the file holds: {', '.join(ids[:10])}"], source
        )
    onsets = {cell(r, "onset_date") for r in body if cell(r, "onset_date")}
    if onset is None and onsets:
        if len(onsets) > 1:
            errors.append(
                f"column 'onset_date': the rows disagree ({', '.join(sorted(onsets)[:3])}); give one onset"
            )
        else:
            onset = _date(next(iter(onsets)))
            if onset is None:
                errors.append(
                    f"column 'onset_date': {shorten(next(iter(onsets)))} is not a date (YYYY-MM-DD)"
                )
    aliases = _alias_table(instruments)
    assessments, sessions = [], []
    for n, r in enumerate(body, start=1):
        where = f"row {n} (line {n + 1})"
        if ids and cell(r, "patient") and cell(r, "patient") != chosen:
            continue
        day = _day(cell(r, "days_since_onset"), cell(r, "date"), onset, where, errors)
        kind = cell(r, "record").lower() or "assessment"
        if kind not in ("assessment", "session"):
            errors.append(f"{where}, column 'record': {shorten(kind)}; use assessment or session")
            continue
        if kind == "session":
            what = cell(r, "intervention")
            minutes, reps = _number(cell(r, "minutes")), _number(cell(r, "repetitions"))
            if not what:
                errors.append(f"{where}, column 'intervention': empty; a session names its intervention")
            if minutes is None and reps is None:
                errors.append(f"{where}: a session gives minutes or repetitions (a number)")
            if day is not None and what and (minutes is not None or reps is not None):
                sessions.append(Session(day, what, minutes, reps, where))
            continue
        name = aliases.get(cell(r, "instrument").lower())
        if name is None:
            errors.append(
                f"{where}, column 'instrument': {shorten(cell(r, 'instrument'))} is not an instrument "
                f"of this model; known: {_known(instruments)}"
            )
            continue
        score = _score(cell(r, "score"), instruments[name], name, f"{where}, column 'score'", errors)
        if day is not None and score is not None:
            assessments.append(Assessment(name, day, score, where))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise HistoryError(errors[:MAX_ERRORS], source)
    if not assessments:
        raise HistoryError(
            [f"no assessment for patient {shorten(chosen)}: the fit needs at least one"], source
        )
    return History(chosen, onset, tuple(sorted(assessments, key=lambda a: a.day)), tuple(sessions))


def _day(days: str, when: str, onset: date | None, where: str, errors: list[str]) -> float | None:
    if days:
        d = _number(days)
        if d is None:
            errors.append(f"{where}, column 'days_since_onset': {shorten(days)} is not a number")
            return None
    elif when:
        parsed = _date(when)
        if parsed is None:
            errors.append(f"{where}, column 'date': {shorten(when)} is not a date (YYYY-MM-DD)")
            return None
        if onset is None:
            errors.append(f"{where}: a date needs the onset: add a column onset_date or give --onset")
            return None
        d = float((parsed - onset).days)
    else:
        errors.append(f"{where}: give days_since_onset or date")
        return None
    if d < 0 or d > 3650:
        errors.append(f"{where}: day {d:g} since onset lies outside 0-3650 (before onset, or over ten years)")
        return None
    return d


def _score(text: Any, ins: Instrument, name: str, where: str, errors: list[str]) -> float | None:
    x = _number(text)
    if x is None:
        errors.append(f"{where}: {shorten(text)} is not a number")
        return None
    if not ins.low <= x <= ins.high:
        errors.append(f"{where}: {x:g} lies outside {name}'s range {ins.low:g}-{ins.high:g}")
        return None
    return x


# --- FHIR --------------------------------------------------------------------------------------


def _fhir(
    text: str, instruments: dict[str, Instrument], patient: str | None, onset: date | None, source: str
) -> History:
    from pydantic import ValidationError

    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError as err:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        try:
            docs = [json.loads(ln) for ln in lines]  # NDJSON
        except json.JSONDecodeError:
            raise HistoryError(
                [f"not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"], source
            ) from None
    resources: list[tuple[str, dict[str, Any]]] = []
    for k, doc in enumerate(docs):
        base = "" if len(docs) == 1 else f"line {k + 1}: "
        if not isinstance(doc, dict) or "resourceType" not in doc:
            raise HistoryError([f"{base}(top level): a FHIR resource with a resourceType"], source)
        if doc["resourceType"] == "Bundle":
            for i, entry in enumerate(doc.get("entry") or []):
                res = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(res, dict):
                    resources.append((f"{base}entry[{i}].resource", res))
        else:
            resources.append((f"{base}(resource)", doc))
    from fhir.resources.R4B.condition import Condition
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.procedure import Procedure

    classes: dict[str, Any] = {"Observation": Observation, "Condition": Condition, "Procedure": Procedure}
    errors: list[str] = []
    notes: list[str] = []
    parsed: list[tuple[str, Any]] = []
    for where, res in resources:
        cls = classes.get(str(res.get("resourceType")))
        if res.get("resourceType") == "Patient":
            continue  # the subject itself: nothing to read
        if cls is None:
            notes.append(f"{where}: a {res.get('resourceType')} is not read")
            continue
        try:
            parsed.append((where, cls.model_validate(res)))
        except ValidationError as err:
            for e in err.errors()[:3]:
                loc = ".".join(str(p) for p in e["loc"] if p != "__root__")
                got = (
                    f" (got {shorten(e['input'])})"
                    if "input" in e and not isinstance(e["input"], dict)
                    else ""
                )
                errors.append(f"{where}.{loc}: {e['msg']}{got}")
    if errors:
        raise HistoryError(errors[:MAX_ERRORS], source)
    subjects = sorted({(o.subject.reference or "") for _, o in parsed if getattr(o, "subject", None)} - {""})
    if patient is None and len(subjects) > 1:
        raise HistoryError(
            [f"the file holds {len(subjects)} patients ({', '.join(subjects[:5])}); choose one (--patient)"],
            source,
        )
    chosen = patient or (subjects[0] if subjects else "patient")

    def mine(o: Any) -> bool:
        ref = o.subject.reference if getattr(o, "subject", None) else None
        return ref is None or ref == chosen or ref.split("/")[-1] == chosen

    if onset is None:
        for _where, c in parsed:
            if c.get_resource_type() == "Condition" and mine(c) and c.onsetDateTime is not None:
                onset = _as_date(c.onsetDateTime)
                break
    aliases = _alias_table(instruments)
    assessments, sessions = [], []
    for where, o in parsed:
        if not mine(o):
            continue
        kind = o.get_resource_type()
        if kind == "Procedure":
            when = o.performedDateTime or (o.performedPeriod.start if o.performedPeriod else None)
            what = (o.code.text if o.code and o.code.text else None) or _first_code(o.code)
            if when is None or onset is None or not what:
                notes.append(f"{where}: a Procedure without a date, onset or code is not read")
                continue
            sessions.append(Session(float((_as_date(when) - onset).days), what, None, None, where))
            continue
        if kind != "Observation":
            continue
        if o.status in ("entered-in-error", "cancelled"):
            notes.append(f"{where}: status {o.status}; skipped")
            continue
        names = [o.code.text or ""] + [
            c for cd in (o.code.coding or []) for c in (cd.code or "", cd.display or "")
        ]
        name = next((aliases[n.strip().lower()] for n in names if n and n.strip().lower() in aliases), None)
        if name is None:
            errors.append(
                f"{where}.code: {shorten(', '.join(n for n in names if n))} is not an instrument of this "
                f"model; known: {_known(instruments)}"
            )
            continue
        value = o.valueQuantity.value if o.valueQuantity is not None else o.valueInteger
        if value is None:
            errors.append(f"{where}.valueQuantity.value: missing; an assessment needs a number")
            continue
        score = _score(value, instruments[name], name, f"{where}.valueQuantity.value", errors)
        when = o.effectiveDateTime or (o.effectivePeriod.start if o.effectivePeriod else None)
        if when is None:
            errors.append(f"{where}.effectiveDateTime: missing; an assessment needs its date")
            continue
        if onset is None:
            errors.append(
                f"{where}: dates need the onset: add a Condition with onsetDateTime or give --onset"
            )
            break
        day = float((_as_date(when) - onset).days)
        if day < 0:
            errors.append(f"{where}.effectiveDateTime: {when} is before the onset {onset}")
            continue
        if score is not None:
            assessments.append(Assessment(name, day, score, where))
    if errors:
        raise HistoryError(errors[:MAX_ERRORS], source)
    if not assessments:
        raise HistoryError(
            [f"no Observation of a known instrument for {chosen}; known: {_known(instruments)}"], source
        )
    return History(
        chosen, onset, tuple(sorted(assessments, key=lambda a: a.day)), tuple(sessions), tuple(notes)
    )


def _as_date(x: Any) -> date:
    return (
        x.date() if isinstance(x, datetime) else x if isinstance(x, date) else date.fromisoformat(str(x)[:10])
    )


def _first_code(code: Any) -> str | None:
    for c in (code.coding or []) if code else []:
        if c.display or c.code:
            return str(c.display or c.code)
    return None
