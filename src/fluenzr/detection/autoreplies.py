"""Auto-replies: RFC 3834 / RFC 5230 headers, vendor headers, out-of-office subjects; return dates.

Header evidence comes first (``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
``X-Autorespond``, ``Precedence: auto_reply``). ``X-Auto-Response-Suppress`` is deliberately not
evidence: per Microsoft's [MS-OXCMAIL] it asks the *receiver* not to auto-answer, and Outlook puts
it on ordinary mail written by people. Subjects are the fallback, in es/en/fr/de/it/pt/nl. The
body alone never makes a message an auto-reply: a person may mention their holidays.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime

from fluenzr.core import linear_re
from fluenzr.detection.message import header

# Phrases that mark an auto-reply wherever they appear in the subject.
OOF_SUBJECTS_ANYWHERE: tuple[str, ...] = (
    r"out of (the )?office",
    r"automatic reply",
    r"auto[- ]?reply",
    r"auto[- ]?response",
    r"autoresponder",
    r"vacation (reply|notice|response)",
    r"fuera de (la )?oficina",
    r"respuesta autom[aá]tica",
    r"ausencia de la oficina",
    r"r[ée]ponse automatique",
    r"absent\(e\) du bureau",
    r"absence du bureau",
    r"message d'absence",
    r"abwesenheitsnotiz",
    r"automatische antwort",
    r"abwesenheit",
    r"nicht im b[üu]ro",
    r"risposta automatica",
    r"fuori (sede|ufficio)",
    r"resposta autom[aá]tica",
    r"fora do escrit[óo]rio",
    r"aus[êe]ncia tempor[áa]ria",
    r"automatisch antwoord",
    r"afwezigheidsbericht",
    r"niet op kantoor",
)
# Shorter words that only count at the start of the subject ("Absence: …", "Abwesend").
OOF_SUBJECTS_START: tuple[str, ...] = (
    r"absence",
    r"absent",
    r"ausente",
    r"abwesend",
    r"assente",
    r"afwezig",
    r"on (vacation|holiday|leave)",
    r"en (vacances|cong[ée])",
    r"de vacaciones",
    r"im urlaub",
    r"in (ferie|vacanza)",
    r"de f[ée]rias",
    r"met vakantie",
)
_ANYWHERE = linear_re.compile("|".join(OOF_SUBJECTS_ANYWHERE), linear_re.IGNORECASE)
_START = linear_re.compile(
    r"^\s*(?:\[[^\]]{0,30}\]\s*)?(?:(?:re|aw|sv|rif|réf)\s*:\s*)?(?:"
    + "|".join(OOF_SUBJECTS_START)
    + r")\b",
    linear_re.IGNORECASE,
)


def header_evidence(msg: Message) -> str | None:
    """The header rule that marks ``msg`` as automatic, or None."""
    auto = header(msg, "Auto-Submitted").lower().split(";")[0].strip()
    if auto and auto != "no":
        return f"auto_submitted:{auto}"
    if header(msg, "X-Autoreply") or header(msg, "X-Autoresponder"):
        return "x_autoreply"
    if header(msg, "X-Autorespond"):
        return "x_autorespond"
    if header(msg, "Precedence").lower() == "auto_reply":
        return "precedence_auto_reply"
    if header(msg, "X-Vacation") or "vacation" in header(msg, "X-Mailer").lower():
        return "vacation"
    return None


def subject_evidence(subject: str) -> str | None:
    if _ANYWHERE.search(subject) or _START.search(subject):
        return "oof_subject"
    return None


# --- return dates ---------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january enero janvier januar jänner gennaio janeiro januari jan ene janv",
        "february febrero février fevrier februar febbraio fevereiro februari feb febr fév fev",
        "march marzo mars märz maerz março marco maart mar mär mrt",
        "april abril avril aprile apr abr avr",
        "may mayo mai maggio maio mei mag",
        "june junio juin juni giugno junho jun giu juin",
        "july julio juillet juli luglio julho jul lug juil",
        "august agosto août aout augustus aug ago",
        "september septiembre setiembre septembre settembre setembro sep sept set",
        "october octubre octobre oktober ottobre outubro oct okt ott out",
        "november noviembre novembre novembro nov",
        "december diciembre décembre decembre dezember dicembre dezembro dec dic déc dez",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS.setdefault(_name, _number)

# Words after which a date means "back on / away until" (es/en/fr/de/it/pt/nl).
_UNTIL = (
    r"until|till|til|through|thru|back on|back in the office on|returning on|return on|"
    r"returning|return|back|"
    r"hasta el|hasta|regreso el|regresaré el|vuelvo el|de vuelta el|a partir del|"
    r"jusqu'au|jusqu’au|jusqu'à|jusqu’à|de retour le|retour le|à partir du|"
    r"bis zum|bis einschließlich|bis|zurück am|ab dem|ab|"
    r"fino al|fino a|rientro il|rientrerò il|di ritorno il|"
    r"até ao|até dia|até|regresso a|regresso em|retorno em|"
    r"tot en met|tot|terug op|vanaf"
)
_MONTH_NAMES = "|".join(sorted((linear_re.escape(m) for m in MONTHS), key=len, reverse=True))
_WEEKDAY = r"(?:[A-Za-zÀ-ÿ]{2,12}\.?,?\s+)?"
_DATE_NUMERIC = r"(?P<a>\d{1,4})[./-](?P<b>\d{1,2})(?:[./-](?P<c>\d{2,4}))?"
_DATE_DAY_MONTH = (
    r"(?P<d1>\d{1,2})(?:st|nd|rd|th|er|º|°|\.)?\s*(?:of\s+|de\s+|di\s+)?(?P<m1>"
    + _MONTH_NAMES
    + r")\.?(?:,?\s*(?:de\s+)?(?P<y1>\d{4}))?"
)
_DATE_MONTH_DAY = (
    r"(?P<m2>" + _MONTH_NAMES + r")\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?(?:,?\s*(?P<y2>\d{4}))?"
)
_RETURN = linear_re.compile(
    r"\b(?:"
    + _UNTIL
    + r")\s+(?:the\s+|le\s+|el\s+|il\s+|o\s+|dem\s+|den\s+)?"
    + _WEEKDAY
    + r"(?:"
    + _DATE_DAY_MONTH
    + "|"
    + _DATE_MONTH_DAY
    + "|"
    + _DATE_NUMERIC
    + r")\b",
    linear_re.IGNORECASE,
)


def return_date(text: str, *, sent: datetime | None, month_first: bool = False) -> date | None:
    """The first 'until / back on <date>' in ``text``; the year is inferred from ``sent``."""
    reference = (sent or datetime.now()).date()  # only a year hint
    for match in _RETURN.finditer(text[:20_000]):
        found = _to_date(match, reference=reference, month_first=month_first)
        if found is not None:
            return found
    return None


def _to_date(match: re.Match[str], *, reference: date, month_first: bool) -> date | None:
    groups = match.groupdict()
    if groups.get("m1"):
        day, month, year = groups["d1"], MONTHS.get(groups["m1"].lower()), groups.get("y1")
    elif groups.get("m2"):
        day, month, year = groups["d2"], MONTHS.get(groups["m2"].lower()), groups.get("y2")
    else:
        a, b, c = groups["a"], groups["b"], groups.get("c")
        if len(a) == 4:  # ISO 2026-12-15
            return _safe(int(a), int(b), int(c or 0))
        first, second = int(a), int(b)
        # Day first (most of the world) unless asked, or only month-first makes sense (12/25).
        if (month_first and first <= 12) or first <= 12 < second:
            first, second = second, first
        day, month, year = str(first), second, c
    if month is None:
        return None
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return _safe(full, int(month), int(day))
    guess = _safe(reference.year, int(month), int(day))
    if guess is not None and guess < reference - timedelta(days=7):
        guess = _safe(reference.year + 1, int(month), int(day))
    return guess


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def sent_at(msg: Message) -> datetime | None:
    value = header(msg, "Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
