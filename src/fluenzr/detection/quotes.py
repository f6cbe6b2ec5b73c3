"""The text a person wrote in a reply, without the quoted original, from plain or HTML bodies.

Plain text: cut at the first attribution line ("On … wrote:", "El … escribió:", "Le … a écrit :",
"Am … schrieb …:", "Il … ha scritto:", "Em … escreveu:", "Op … schreef …:"), at Outlook's
"-----Original Message-----" separators (in several languages) or header blocks
("From:/De :/Von: … Sent:/Enviado:/Envoyé : … Subject:/Asunto:/Objet :"), then drop ``>`` lines
and the signature after "-- ". HTML: drop Gmail (``gmail_quote``), Apple Mail and Thunderbird
(``blockquote type=cite``, ``moz-cite-prefix``), Yahoo (``yahoo_quoted``) and Outlook
(``divRplyFwdMsg``, ``appendonsend``) quote containers, then the same plain-text rules.
"""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

from fluenzr.core import linear_re

ATTRIBUTION_LINES: tuple[str, ...] = (
    r"^on\b.{0,300}\bwrote\s*:\s*$",
    r"^el\b.{0,300}\bescribi[óo]\s*:\s*$",
    r"^le\b.{0,300}\ba [ée]crit\s*:\s*$",
    r"^am\b.{0,300}\bschrieb\b.{0,200}:\s*$",
    r"^il\b.{0,300}\bha scritto\s*:\s*$",
    r"^em\b.{0,300}\bescreveu\s*:\s*$",
    r"^op\b.{0,300}\bschreef\b.{0,200}:\s*$",
    r"^.{0,200}(wrote|escribi[óo]|a [ée]crit|schrieb|ha scritto|escreveu|schreef)\s*:\s*$",
    # ru (Mail.ru "Понедельник, 16 ноября 2026, 9:00 +01:00 от Имя <a@b>:", "… пишет:")
    r"^.{0,120}\d.{0,120} от .{0,250}@.{0,200}:\s*$",
    r"^.{0,300}(пишет|написал|написала)\s*:\s*$",
    # Yandex and others: "16.11.2026, 09:00, "Name" <a@b>:"
    r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4},? \d{1,2}:\d{2}.{0,250}@.{0,200}:\s*$",
)
SEPARATORS: tuple[str, ...] = (
    r"^-{2,}\s*(original message|mensaje original|message d'origine|message d’origine|"
    r"ursprüngliche nachricht|messaggio originale|mensagem original|oorspronkelijk bericht|"
    r"forwarded message|mensaje reenviado|message transféré|weitergeleitete nachricht)\s*-{2,}",
)
# Outlook's header block: a From line followed closely by sent/to/subject lines.
FROM_LINE = r"^\*?(from|de|von|da|van|från|od)\s?\*?\s?:"
BLOCK_LINES = (
    r"^\*?(sent|date|enviado|fecha|envoyé|date|gesendet|datum|inviato|data|enviada|"
    r"verzonden|skickat|to|para|à|a|an|aan|till|cc|subject|asunto|objet|betreff|oggetto|"
    r"assunto|onderwerp|ämne)\s?\*?\s?:"
)
_ATTRIBUTION = [linear_re.compile(p, linear_re.IGNORECASE) for p in ATTRIBUTION_LINES]
_SEPARATOR = [linear_re.compile(p, linear_re.IGNORECASE) for p in SEPARATORS]
_FROM = linear_re.compile(FROM_LINE, linear_re.IGNORECASE)
_BLOCK = linear_re.compile(BLOCK_LINES, linear_re.IGNORECASE)

UNSUBSCRIBE_PHRASES: tuple[str, ...] = (
    # en
    r"\bunsubscribe\b",
    r"\bremove me\b",
    r"\btake me off\b",
    r"\bstop (e-?mailing|emailing|sending|contacting|writing)\b",
    r"\bdo(n't| not) (e-?mail|contact|write to) me\b",
    r"\bopt[- ]?out\b",
    r"\bno more e-?mails\b",
    # es
    r"\bdar(me)? de baja\b",
    r"\b(d[aáé]me|d[eé]nme) de baja\b",
    r"\bdad(me)? de baja\b",
    r"\bdarse de baja\b",
    r"\bno me (vuelva[sn]? a )?(escrib|contact|envi)",
    r"\bdej(e|a|en) de (escribir|enviar|contactar)",
    r"\belim[ií]n(ame|enme|adme)\b",
    r"\bb[óo]rr(ame|enme|adme)\b",
    r"\bqu[ií]t(ame|enme|adme)\b",
    r"\bno (quiero|deseo) recibir\b",
    # fr
    r"\bd[ée]sabonn",
    r"\bd[ée]sinscri",
    r"\bretirez[- ]moi\b",
    r"\bsupprimez[- ]moi\b",
    r"\bne (plus|pas) (me )?(contacter|écrire|ecrire|recevoir)\b",
    r"\bne me (contactez|écrivez|ecrivez) plus\b",
    r"\barr[êe]te[zr]? de m['’](écrire|ecrire|envoyer|contacter)",
)
_UNSUBSCRIBE = linear_re.compile("|".join(UNSUBSCRIBE_PHRASES), linear_re.IGNORECASE)
_SIGNATURE = linear_re.compile(r"^-- ?$")


def wants_unsubscribe(text: str) -> bool:
    return bool(_UNSUBSCRIBE.search(text))


def unsubscribe_phrase(text: str) -> str | None:
    """The words that asked to stop, or None."""
    found = _UNSUBSCRIBE.search(text)
    return str(found.group(0)).strip()[:200] if found else None


def strip_quotes(text: str) -> str:
    """The reply's own text from a plain-text body."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _cut_index(lines)
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    for index, line in enumerate(kept):
        if _SIGNATURE.match(line):
            kept = kept[:index]
            break
    return "\n".join(kept).strip().rstrip("_").strip()


def _cut_index(lines: list[str]) -> int:
    for index, line in enumerate(lines[:5000]):
        stripped = line.strip()
        if not stripped:
            continue
        if any(p.search(stripped) for p in _SEPARATOR) and index > 0:
            return index
        joined = stripped if index + 1 >= len(lines) else f"{stripped} {lines[index + 1].strip()}"
        for pattern in _ATTRIBUTION:
            if pattern.search(stripped):
                return index
            if pattern.search(joined) and not stripped.endswith(":"):
                # Attribution wrapped on two lines ("On Mon, … <a@b.c>" / "wrote:").
                return index
        if _FROM.match(stripped) and _looks_like_header_block(lines, index):
            return index
    return len(lines)


def _looks_like_header_block(lines: list[str], start: int) -> bool:
    following = [ln.strip() for ln in lines[start + 1 : start + 7] if ln.strip()]
    return sum(1 for ln in following[:5] if _BLOCK.match(ln)) >= 2


# --- HTML ------------------------------------------------------------------------------------

_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote")
_STOP_IDS = (
    "divrplyfwdmsg",
    "appendonsend",
    "mail-editor-reference-message-container",
    "olk_src_body_section",
    "zwchr",
)
_BLOCK_TAGS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})


class _ReplyHtml(HTMLParser):
    """HTML → text, skipping quote containers and everything after Outlook's reply header."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0  # >0 while inside a quote container
        self.depth = 0
        self.skip_at: list[int] = []
        self.stopped = False
        self.hidden = 0  # inside <style>/<script>/<head>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("style", "script", "head", "title"):
            self.hidden += 1
            return
        if tag in _VOID:
            if tag in ("br", "hr") and not self.skip_at:
                self.out.append("\n")
            return
        self.depth += 1
        classes = values.get("class", "").lower()
        element_id = values.get("id", "").lower()
        if any(s in element_id for s in _STOP_IDS):
            self.stopped = True
            return
        quote = tag == "blockquote" or any(c in classes for c in _QUOTE_CLASSES)
        if quote and not self.skip_at:
            self.skip_at.append(self.depth)
        if tag in _BLOCK_TAGS and not self.skip_at:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in _VOID:
            return
        if tag in ("style", "script", "head", "title"):
            self.hidden = max(0, self.hidden - 1)
            return
        if self.skip_at and self.skip_at[-1] == self.depth:
            self.skip_at.pop()
        self.depth = max(0, self.depth - 1)
        if tag in _BLOCK_TAGS and not self.skip_at:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skip_at and not self.hidden:
            self.out.append(data)


_ANY_TAG = linear_re.compile(r"<[^>]*>")
# A whole tag or declaration — or a lone "<". The stdlib HTMLParser rescans the rest of the
# document from every "<" that does not close ("<div <div <div …": quadratic, minutes on
# 100 KB), so every lone "<" becomes "&lt;" first (the same text once entities are decoded) and
# each tag the parser sees is complete and scanned once. No alternative may look past the next
# "<": each search then reads a bounded stretch and the whole pass stays linear (an alternative
# for comments would rescan to the end from every "<!--" that never closes).
_TAG_OR_LT = linear_re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<")


def _complete_tags(html: str) -> str:
    return _TAG_OR_LT.sub(
        lambda m: "&lt;" if m.group(0) == "<" else m.group(0), _without_comments(html)
    )


def _without_comments(html: str) -> str:
    """Drop <!-- … --> comments in one pass (an unclosed one runs to the end, as in browsers)."""
    out: list[str] = []
    at = 0
    while True:
        start = html.find("<!--", at)
        if start < 0:
            out.append(html[at:])
            return "".join(out)
        out.append(html[at:start])
        end = html.find("-->", start + 4)
        if end < 0:
            return "".join(out)
        at = end + 3


_BLANKS = linear_re.compile(r"[ \t]+")
_EMPTY_LINES = linear_re.compile(r"\n{3,}")


def html_to_reply_text(html: str) -> str:
    parser = _ReplyHtml()
    try:
        parser.feed(_complete_tags(html[:500_000]))
        parser.close()
    except Exception:  # broken HTML: fall back to a crude tag strip
        return strip_quotes(unescape(_ANY_TAG.sub(" ", html)))
    text = "".join(parser.out).replace("\xa0", " ")
    text = _BLANKS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _EMPTY_LINES.sub("\n\n", text)
    return strip_quotes(text)


def reply_text(plain: str, html: str) -> str:
    """Prefer the plain-text alternative; fall back to the HTML one."""
    if plain.strip():
        return strip_quotes(plain)
    if html.strip():
        return html_to_reply_text(html)
    return ""
