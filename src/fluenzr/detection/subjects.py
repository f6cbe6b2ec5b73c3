"""Subject normalisation: strip the reply/forward prefixes mail clients add, in many languages."""

from __future__ import annotations

from fluenzr.core import linear_re

# Reply and forward prefixes as clients write them (case-insensitive), e.g. "Re:", "RE:",
# "Réf.", "AW:" (de), "SV:" (sv/da/no), "Rif:" (it), "RV:" (es reenvío), "TR:" (fr transfert),
# "Enc:" (pt), "Antw:" (nl), "WG:" (de Weitergeleitet), "VS:" (fi), "Odp:" (pl), "YNT:" (tr).
REPLY_PREFIXES: tuple[str, ...] = (
    "re",
    "ref",
    "réf",
    "aw",
    "sv",
    "rif",
    "r",
    "antw",
    "odp",
    "vs",
    "ynt",
    "res",
    "resp",
    "回复",
    "答复",
    "回覆",
)
FORWARD_PREFIXES: tuple[str, ...] = (
    "fwd",
    "fw",
    "tr",
    "wg",
    "rv",
    "enc",
    "i",
    "doorst",
    "pd",
    "转发",
)
_ALL = sorted(REPLY_PREFIXES + FORWARD_PREFIXES, key=len, reverse=True)
_PREFIX = linear_re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    + "|".join(linear_re.escape(p) for p in _ALL)
    + r")\s*(?:\[\d+\]|\(\d+\))?\s*[.:：](?:\s*:)?\s*",
    linear_re.IGNORECASE,
)
_REPLY = linear_re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    + "|".join(linear_re.escape(p) for p in sorted(REPLY_PREFIXES, key=len, reverse=True))
    + r")\s*(?:\[\d+\]|\(\d+\))?\s*[.:：]",
    linear_re.IGNORECASE,
)
_TAG = linear_re.compile(r"^\s*\[[^\]]{0,40}\]\s*")
_WS = linear_re.compile(r"\s+")


def normalise_subject(subject: str) -> str:
    """'RE: AW: [EXT] Réf. Hello  World' → 'hello world' (for comparing, not for display)."""
    text = subject or ""
    for _ in range(20):
        stripped = _PREFIX.sub("", text, count=1)
        stripped = _TAG.sub("", stripped, count=1) if stripped != text else stripped
        if stripped == text:
            break
        text = stripped
    return _WS.sub(" ", text).strip().casefold()


def has_reply_prefix(subject: str) -> bool:
    return bool(_REPLY.match(subject or ""))
