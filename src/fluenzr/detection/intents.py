"""What a human reply asks for, by rule, with the words that decided it (es/en/fr first).

Precision first: a wrong label is worse than ``unknown``, so each intent is a short list of
phrases a person uses for exactly that, checked in an order where the more specific wins —
``unsubscribe`` (the flag :mod:`quotes` sets), ``left_company``, ``wrong_person``,
``not_interested``, ``referral``, ``meeting``, ``interested``, ``question`` (a sentence that
ends in "?"), else ``unknown``. Only the reply's own text (the quote already removed, first
``MAX_TEXT`` characters) is read. ``left_company``, ``wrong_person`` and ``referral`` keep the
first address the text names (not ours, not the sender's) as ``referred``. Every pattern is
RE2 (linear); ``\\b`` is ASCII-only there, so it is never written next to an accented letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluenzr.core import linear_re
from fluenzr.detection.quotes import unsubscribe_phrase

INTENTS: tuple[str, ...] = (
    "unsubscribe",
    "left_company",
    "wrong_person",
    "not_interested",
    "referral",
    "meeting",
    "interested",
    "question",
    "unknown",
)
MAX_TEXT = 2000

RULES: tuple[tuple[str, str], ...] = (
    (
        "left_company",
        r"\bno longer (work|with|at|employed)\b|\b(i|she|he) (have|has|had) left (the company|\w+)|"
        r"\bi've left\b|\bis no longer with\b|\bleft the (company|organi[sz]ation|firm)\b|"
        r"\bya no (trabajo|estoy|formo parte|trabaja|está|forma parte)\b|"
        r"\b(he|ha) dejado (la empresa|de trabajar)|\bdej[ée] la empresa\b|"
        r"\bne (travaille|fais|fait|travaillons) plus\b|\b(j'ai|a) quitt[ée] (la|l')|"
        r"\bn'est plus (chez|dans|avec)\b",
    ),
    (
        "wrong_person",
        r"\bnot the (right|best|correct|appropriate) (person|contact)\b|\bwrong (person|contact)\b|"
        r"\bnot (my|in my) (area|department|responsibility)\b|\bnot responsible for\b|"
        r"\bno soy (la persona|el contacto|quien)\b|\bno es mi (área|departamento)|"
        r"\bno me (encargo|ocupo) de\b|\bno llevo (yo )?(ese|este) tema\b|"
        r"\b(pas|ne suis pas) (la|le) (bonne personne|bon contact|bon interlocuteur)\b|"
        r"\bpas la bonne personne\b|\bne m'occupe pas\b|\bpas (de )?mon ressort\b",
    ),
    (
        "not_interested",
        r"\bnot interested\b|\bno,? thanks?( you)?\b|\bwe('re| are) (all )?set\b|"
        r"\bnot a (good )?fit\b|\bwe already (have|use|work with)\b|\bno need\b|"
        r"\bwill pass\b|\bpass on this\b|"
        r"\bno (nos|me) interesa\b|\bno (estamos|estoy) interesad[oa]s?\b|\bno,? gracias\b|"
        r"\bya (tenemos|trabajamos con|usamos)\b|\bno es (el momento|prioridad|para nosotros)\b|"
        r"\bpas int[ée]ress[ée]|\bnon,? merci\b|\bne nous int[ée]resse pas\b|"
        r"\bne m'int[ée]resse pas\b|\bnous avons d[ée]j[àa]\b|\bpas pour nous\b",
    ),
    (
        "referral",
        r"\b(please )?(contact|reach out to|talk to|speak (to|with)|e-?mail|write to)\b"
        r"[^.\n]{0,80}@|"
        r"\b(cc'?ing|copying|looping in|forwarding (this|it) to)\b|"
        r"\b(escribe|escr[íi]bele|contacta( con)?|habla con|pregunta a)\b[^.\n]{0,80}@|"
        r"\bte (paso|pongo en contacto) con\b|\ben copia\b|\bte pongo en copia\b|"
        r"\b(contactez|[ée]crivez [àa]|voyez avec|je transmets [àa])[^.\n]{0,80}@|"
        r"\bje (mets|met) en copie\b",
    ),
    (
        "meeting",
        r"\b(let's|lets|can we|could we|happy to|glad to|we could|shall we)\s+"
        r"(talk|chat|meet|schedule|set up|hop on|have a (quick )?call|speak)\b|"
        r"\b(schedule|book|set up|arrange) a (quick )?(call|meeting|demo|time)\b|"
        r"\bsend (me )?(an? )?(calendar )?invite\b|\bmy calendar\b|\bcalendly\b|"
        r"\b(podemos|podr[íi]amos|quedamos|agendemos|hablemos) "
        r"(hablar|vernos|quedar|una llamada|el|la|ma[ñn]ana)|"
        r"\b(una )?(llamada|reuni[óo]n|videollamada) (el|la|esta|este|ma[ñn]ana|la semana)\b|"
        r"\bme viene bien (el|la)\b|\bte va bien (el|la)\b|"
        r"\b(un )?(appel|rendez-vous|rdv|r[ée]union|visio) (lundi|mardi|mercredi|jeudi|vendredi|"
        r"demain|la semaine|cette semaine|[àa] \d)|\bon peut (se parler|s'appeler|en parler)\b|"
        r"\bcall (on|next|this) (monday|tuesday|wednesday|thursday|friday|week)\b",
    ),
    (
        "interested",
        r"\b(i'm|i am|we're|we are) (very )?interested\b|\bsounds (good|great|interesting)\b|"
        r"\btell me more\b|\bsend (me|us) (more )?(info|information|details|pricing|the deck)\b|"
        r"\b(me|nos) interesa\b|\bcu[ée]ntame m[áa]s\b|\bsuena (bien|interesante)\b|"
        r"\b(env[íi]a|m[áa]nda)(me|nos) (m[áa]s )?(info|informaci[óo]n|detalles|la propuesta)\b|"
        r"\b(je suis|nous sommes) int[ée]ress[ée]|\bça (m|nous)'int[ée]resse\b|"
        r"\bdites-m'en plus\b|\benvoyez-(moi|nous) (plus d')?(info|informations|d[ée]tails)\b",
    ),
)
_RULES = [(name, linear_re.compile(pattern, linear_re.IGNORECASE)) for name, pattern in RULES]
_QUESTION = linear_re.compile(r"[^\n?.!]{3,300}\?")
_EMAIL = linear_re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,253}\.[A-Za-z]{2,}")
_REFERRING = frozenset({"left_company", "wrong_person", "referral"})


@dataclass(frozen=True)
class Intent:
    intent: str
    phrase: str | None = None
    referred: str | None = None


def detect(
    text: str,
    *,
    unsubscribe: bool = False,
    own_addresses: frozenset[str] = frozenset(),
    sender: str = "",
) -> Intent:
    """The intent of a reply's own text (the quote removed)."""
    body = (text or "")[:MAX_TEXT]
    if unsubscribe:
        return Intent("unsubscribe", unsubscribe_phrase(body) or _first_line(body))
    for name, pattern in _RULES:
        found = pattern.search(body)
        if found is None:
            continue
        referred = _referred(body, own=own_addresses, sender=sender) if name in _REFERRING else None
        if name == "referral" and referred is None and "@" in found.group(0):
            continue
        return Intent(name, found.group(0).strip()[:200], referred)
    question = _QUESTION.search(body)
    if question is not None:
        return Intent("question", question.group(0).strip()[:200])
    return Intent("unknown")


def _referred(text: str, *, own: frozenset[str], sender: str) -> str | None:
    for found in _EMAIL.findall(text):
        addr = str(found).lower().rstrip(".")
        if addr not in own and addr != sender.lower():
            return addr
    return None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return None
