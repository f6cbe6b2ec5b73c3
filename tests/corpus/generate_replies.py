# ruff: noqa: E501  (mail client markup: lines as long as the clients write them)
"""Write the mail-client reply corpus (tests/corpus/clients/*.eml + expected.toml).

Run ``.venv/bin/python tests/corpus/generate_replies.py``; the output is committed. Each sample
is a prospect's reply in the shape one mail client writes it — HTML-only quote containers
(Outlook ``divRplyFwdMsg`` / ``OLK_SRC_BODY_SECTION``, Gmail ``gmail_quote``, Apple Mail and
Thunderbird ``blockquote type=cite`` / ``moz-cite-prefix``, Yahoo ``yahoo_quoted``, Windows Mail,
Mail.ru, Yandex, Zimbra, GMX, ``<hr>``-separated) and plain-text quote headers in
es/en/fr/de/it/pt/nl — written by us from the clients' documented or observable markup. The
expected reply text is the prospect's sentence; the quoted pitch must not survive. Each
sample also carries the intent its sentence expresses (``unknown`` when a careful reader
could not say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent / "clients"
PITCH = "¿Tenéis 10 minutos esta semana para hablar de vuestro equipo comercial?"
ANA = "Ana Ruiz <ana@fluenzr.test>"


@dataclass
class Reply:
    text: str  # what the prospect wrote (one line, kept in the reply text)
    intent: str
    referred: str | None = None


REPLIES = [
    Reply("Sí, me interesa. ¿Podemos hablar el jueves a las 10?", "meeting"),
    Reply("No nos interesa, gracias.", "not_interested"),
    Reply(
        "Ya no trabajo en la empresa. Escribe a marta.lopez@cliente.example.",
        "left_company",
        "marta.lopez@cliente.example",
    ),
    Reply(
        "No soy la persona adecuada; habla con pedro@cliente.example.",
        "wrong_person",
        "pedro@cliente.example",
    ),
    Reply("¿Cuánto cuesta el plan para 20 personas?", "question"),
    Reply("Please remove me from your list.", "unsubscribe"),
    Reply("Sounds good, let's schedule a call next Tuesday.", "meeting"),
    Reply("We are not interested at this time.", "not_interested"),
    Reply(
        "I no longer work at Contoso. Please contact jane.doe@contoso.example instead.",
        "left_company",
        "jane.doe@contoso.example",
    ),
    Reply("What does the integration with Salesforce look like?", "question"),
    Reply("Merci, pas intéressé.", "not_interested"),
    Reply("Oui, volontiers : un appel mardi à 14h ?", "meeting"),
    Reply(
        "Je ne suis pas la bonne personne, contactez plutôt luc@client.example.",
        "wrong_person",
        "luc@client.example",
    ),
    Reply("Gracias por el correo.", "unknown"),
    Reply("Thanks, received.", "unknown"),
    Reply("Quel est le prix pour une équipe de 5 ?", "question"),
    Reply("Estoy de vacaciones, lo miro a la vuelta.", "unknown"),
]


def headers(n: int, *, subject: str, ctype: str, bracket: bool = True) -> str:
    irt = f"<outreach.{n}@fluenzr.test>" if bracket else f"outreach.{n}@fluenzr.test"
    return (
        f"From: Prospect {n} <prospect{n}@cliente.example>\n"
        f"To: {ANA}\n"
        f"Subject: {subject}\n"
        f"Date: Tue, 17 Nov 2026 10:{n % 60:02d}:00 +0100\n"
        f"Message-ID: <reply.{n}@cliente.example>\n"
        f"In-Reply-To: {irt}\n"
        f"References: <outreach.{n}@fluenzr.test>\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: {ctype}\n"
        "Content-Transfer-Encoding: 8bit\n"
    )


def html_doc(body: str) -> str:
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "<style>p{margin:0}</style></head><body>" + body + "</body></html>\n"
    )


P = escape(PITCH)
A = escape(ANA)

HTML_SHAPES: dict[str, tuple[str, str]] = {
    "outlook365_divrplyfwdmsg": (
        "Outlook 365 / OWA: <hr> + div#divRplyFwdMsg header block",
        '<div dir="ltr"><div style="font-family:Calibri,Arial">{r}</div></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">'
        f"<b>From:</b> {A}<br><b>Sent:</b> Monday, November 16, 2026 9:00 AM<br><b>To:</b> Prospect<br>"
        "<b>Subject:</b> Idea para vuestro equipo</font><div>&nbsp;</div></div>"
        f'<div><div dir="ltr">Hola,<br>{P}<br>Ana</div></div>',
    ),
    "outlook_mac_olk_src": (
        "Outlook for Mac: div#OLK_SRC_BODY_SECTION",
        '<div><span style="font-size:11pt">{r}</span></div><div><br></div>'
        '<span id="OLK_SRC_BODY_SECTION"><div style="font-family:Calibri; font-size:12pt; text-align:left; color:black; BORDER-BOTTOM: medium none; BORDER-LEFT: medium none; PADDING-BOTTOM: 0in; PADDING-LEFT: 0in; PADDING-RIGHT: 0in; BORDER-TOP: #b5c4df 1pt solid; BORDER-RIGHT: medium none; PADDING-TOP: 3pt">'
        f'<span style="font-weight:bold">From: </span>{A}<br><span style="font-weight:bold">Date: </span>Monday, 16 November 2026 09:00<br>'
        '<span style="font-weight:bold">Subject: </span>Idea para vuestro equipo<br></div><div><br></div>'
        f"<div><div>{P}</div></div></span>",
    ),
    "outlook2010_border_top": (
        "Outlook 2007-2016 desktop: MsoNormal + border-top div, From/Sent/To/Subject",
        '<div class="WordSection1"><p class="MsoNormal"><span lang="ES">{r}<o:p></o:p></span></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        '<p class="MsoNormal"><b><span lang="ES">De:</span></b><span lang="ES"> Ana Ruiz [mailto:ana@fluenzr.test] <br>'
        "<b>Enviado el:</b> lunes, 16 de noviembre de 2026 9:00<br><b>Para:</b> Prospect<br>"
        "<b>Asunto:</b> Idea para vuestro equipo<o:p></o:p></span></p></div></div>"
        f'<p class="MsoNormal">{P}<o:p></o:p></p></div>',
    ),
    "gmail_quote": (
        "Gmail: div.gmail_quote > div.gmail_attr + blockquote.gmail_quote",
        '<div dir="ltr">{r}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        f"On Mon, Nov 16, 2026 at 9:00 AM {A} wrote:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        f'<div dir="ltr">Hola,<div>{P}</div></div></blockquote></div>',
    ),
    "apple_mail_cite": (
        "Apple Mail: attribution div + blockquote type=cite",
        '<div dir="auto">{r}<br><br><div dir="ltr">Enviado desde mi iPhone</div>'
        f'<div dir="ltr"><br><blockquote type="cite">El 16 nov 2026, a las 9:00, {A} escribió:<br><br></blockquote></div>'
        f'<blockquote type="cite"><div dir="ltr">{P}</div></blockquote></div>',
    ),
    "thunderbird_moz_cite": (
        "Thunderbird: div.moz-cite-prefix + blockquote type=cite",
        "<p>{r}</p><br>"
        f'<div class="moz-cite-prefix">Le 16/11/2026 à 09:00, {A} a écrit&nbsp;:<br></div>'
        f'<blockquote type="cite" cite="mid:outreach@fluenzr.test">{P}</blockquote>',
    ),
    "yahoo_quoted": (
        "Yahoo Mail: div.ydp…yahoo_quoted",
        '<div class="ydp3a1b2c3dyahoo-style-wrap"><div>{r}</div></div>'
        '<div id="ydp9f8e7d6cyahoo_quoted_1234567890" class="ydp9f8e7d6cyahoo_quoted">'
        f'<div style="font-family:Helvetica"><div>On Monday, November 16, 2026, 09:00:00 AM GMT+1, {A} wrote:</div>'
        f"<div><br></div><div><br></div><div><div>{P}</div></div></div></div>",
    ),
    "windows_mail": (
        "Windows 10 Mail: border-top div with bold From/Sent (LRM marks in the date)",
        '<div dir="ltr"><div>{r}</div><div><br></div><div>Sent from <a href="https://go.microsoft.com/fwlink/?LinkId=550986">Mail</a> for Windows 10</div><div><br></div>'
        '<div style="padding-top: 5px; border-top-color: rgb(229, 229, 229); border-top-width: 1px; border-top-style: solid;">'
        "<div><font face=\"'Calibri', 'Segoe UI', 'Meiryo', 'Microsoft YaHei UI', 'Microsoft JhengHei UI', 'Malgun Gothic', 'sans-serif'\" style='line-height: 15pt; letter-spacing: 0.02em; font-size: 14pt;'>"
        '<b>From:</b> <a href="mailto:ana@fluenzr.test">Ana Ruiz</a><br><b>Sent:</b> \u200eMonday\u200e, \u200eNovember\u200e \u200e16\u200e, \u200e2026 \u200e9\u200e:\u200e00\u200e \u200eAM<br>'
        "<b>To:</b> Prospect<br><b>Subject:</b> Idea para vuestro equipo</font></div></div>"
        f'<div><br></div><div dir="">{P}</div></div>',
    ),
    "mailru": (
        "Mail.ru: attribution '… от …:' + blockquote",
        "<div>{r}</div><div>&nbsp;</div>"
        f'<div>&nbsp;</div><div style="color:#000000;">Понедельник, 16 ноября 2026, 9:00 +01:00 от {A}:<br>&nbsp;'
        f'<blockquote style="border-left:1px solid #0857A6; margin:10px; padding:0 0 0 10px;"><div id=""><div class="js-helper js-readmsg-msg">{P}</div></div></blockquote></div>',
    ),
    "yandex": (
        "Yandex Mail: 'DD.MM.YYYY, HH:MM, \"Name\" <addr>:' + blockquote",
        "<div>{r}</div><div>&nbsp;</div><div>Prospect</div><div>&nbsp;</div>"
        f'<div>16.11.2026, 09:00, "Ana Ruiz" &lt;ana@fluenzr.test&gt;:</div><blockquote><div>{P}</div></blockquote>',
    ),
    "zimbra_hr": (
        "Zimbra: hr#zwchr + bold header block",
        '<div style="font-family: arial, helvetica, sans-serif; font-size: 12pt; color: #000000"><div>{r}</div><div><br></div>'
        '<hr id="zwchr"><div style="color:#000;font-weight:normal;font-style:normal;text-decoration:none;font-family:Helvetica,Arial,sans-serif;font-size:12pt;">'
        f"<b>De: </b>{A}<br><b>À: </b>Prospect<br><b>Envoyé: </b>Lundi 16 Novembre 2026 09:00:00<br><b>Objet: </b>Idea para vuestro equipo<br></div>"
        f"<div><br></div><div>{P}</div></div>",
    ),
    "gmx_name_quote": (
        "GMX / web.de: div name=quote",
        '<div style="font-family: Verdana;font-size: 12.0px;"><div>{r}</div>'
        '<div>&nbsp;\n<div style="margin: 10.0px 5.0px 5.0px 10.0px;padding: 10.0px 0 10.0px 10.0px;border-left: 2.0px solid rgb(195,217,229);" name="quote">'
        f'<div style="margin: 0 0 10.0px 0;"><b>Gesendet:</b>&nbsp;Montag, 16. November 2026 um 09:00 Uhr<br><b>Von:</b>&nbsp;"Ana Ruiz" &lt;ana@fluenzr.test&gt;<br><b>An:</b>&nbsp;Prospect<br><b>Betreff:</b>&nbsp;Idea</div>'
        f'<div name="quoted-content">{P}</div></div></div></div>',
    ),
    "hr_separated": (
        "plain <hr> then the original's header block (webmails such as Horde / SquirrelMail)",
        "<p>{r}</p><hr>"
        f"<p><b>From:</b> {A}<br><b>Date:</b> Mon, 16 Nov 2026 09:00<br><b>To:</b> Prospect<br><b>Subject:</b> Idea</p>"
        f"<p>{P}</p>",
    ),
    "protonmail_quote": (
        "Proton Mail: div.protonmail_quote",
        '<div style="font-family: Arial"><div>{r}</div></div><div class="protonmail_signature_block"></div><br>'
        f'<div class="protonmail_quote">On Monday, November 16th, 2026 at 09:00, {A} wrote:<br>'
        f'<blockquote class="protonmail_quote" type="cite">{P}</blockquote><br></div>',
    ),
    "outlook_new_reference": (
        "new Outlook / OWA 2023: div#mail-editor-reference-message-container",
        '<div class="elementToProof" style="font-family:Aptos">{r}</div>'
        '<div id="mail-editor-reference-message-container"><div class="ms-outlook-mobile-reference-message skipProofing">'
        f'<meta name="Generator" content="Microsoft Exchange Server"><b>From: </b>{A}<br><b>Date: </b>Monday, 16 November 2026 at 09:00<br>'
        f"<b>Subject: </b>Idea<br><br></div>{P}</div>",
    ),
    "gmail_ios_cite": (
        "Gmail for iOS: blockquote type=cite after an attribution line",
        '<div dir="auto">{r}</div><div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        f'Il giorno lun 16 nov 2026 alle 09:00 {A} ha scritto:<br></div><blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">{P}</blockquote></div></div>',
    ),
}

ATTRIBUTIONS = {
    "en": (
        "On Mon, Nov 16, 2026 at 9:00 AM Ana Ruiz <ana@fluenzr.test> wrote:",
        "-----Original Message-----",
        ("From", "Sent", "To", "Subject"),
    ),
    "es": (
        "El lun, 16 nov 2026 a las 9:00, Ana Ruiz (<ana@fluenzr.test>) escribió:",
        "-----Mensaje original-----",
        ("De", "Enviado", "Para", "Asunto"),
    ),
    "fr": (
        "Le lun. 16 nov. 2026 à 09:00, Ana Ruiz <ana@fluenzr.test> a écrit :",
        "-------- Message d'origine --------",
        ("De ", "Envoyé ", "À ", "Objet "),
    ),
    "de": (
        "Am Mo., 16. Nov. 2026 um 09:00 Uhr schrieb Ana Ruiz <ana@fluenzr.test>:",
        "-----Ursprüngliche Nachricht-----",
        ("Von", "Gesendet", "An", "Betreff"),
    ),
    "it": (
        "Il giorno lun 16 nov 2026 alle ore 09:00 Ana Ruiz <ana@fluenzr.test> ha scritto:",
        "-----Messaggio originale-----",
        ("Da", "Inviato", "A", "Oggetto"),
    ),
    "pt": (
        "Em seg., 16 de nov. de 2026 às 09:00, Ana Ruiz <ana@fluenzr.test> escreveu:",
        "-----Mensagem original-----",
        ("De", "Enviado", "Para", "Assunto"),
    ),
    "nl": (
        "Op ma 16 nov. 2026 om 09:00 schreef Ana Ruiz <ana@fluenzr.test>:",
        "-----Oorspronkelijk bericht-----",
        ("Van", "Verzonden", "Aan", "Onderwerp"),
    ),
}


def text_body(lang: str, style: str, reply: str) -> str:
    attribution, separator, names = ATTRIBUTIONS[lang]
    quoted = "\n".join(f"> {line}" for line in ("Hola,", "", PITCH, "", "Ana"))
    if style == "attribution":
        return f"{reply}\n\n{attribution}\n\n{quoted}\n"
    block = (
        f"{names[0]}: {ANA}\n{names[1]}: lunes, 16 de noviembre de 2026 9:00\n"
        f"{names[2]}: prospect@cliente.example\n{names[3]}: Idea para vuestro equipo\n\n"
        f"Hola,\n\n{PITCH}\n\nAna\n"
    )
    if style == "separator":
        return f"{reply}\n\nSaludos\n\n{separator}\n{block}"
    return f"{reply}\n\n________________________________\n{block}"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for old in HERE.glob("*.eml"):
        old.unlink()
    toml = [
        "# Generated by tests/corpus/generate_replies.py: expectations of the mail-client reply corpus.",
        "",
    ]
    n = 3000
    samples: list[tuple[str, str, str, Reply, str]] = []
    for index, (name, (source, template)) in enumerate(HTML_SHAPES.items()):
        reply = REPLIES[index % len(REPLIES)]
        body = html_doc(template.replace("{r}", escape(reply.text)))
        samples.append((f"clients/{name}.eml", "text/html; charset=utf-8", body, reply, source))
    styles = ("attribution", "separator", "header_block")
    offset = len(HTML_SHAPES)
    for lang in ATTRIBUTIONS:
        for style in styles:
            reply = REPLIES[offset % len(REPLIES)]
            offset += 1
            source = f"{lang} plain-text {style.replace('_', ' ')} (Gmail / Outlook / Apple Mail quote headers)"
            samples.append(
                (
                    f"clients/text_{lang}_{style}.eml",
                    "text/plain; charset=utf-8",
                    text_body(lang, style, reply.text),
                    reply,
                    source,
                )
            )
    for path, ctype, body, reply, source in samples:
        n += 1
        bracket = n % 3 != 0  # a third of them with an unbracketed In-Reply-To
        raw = (
            headers(n, subject="RE: Idea para vuestro equipo", ctype=ctype, bracket=bracket)
            + "\n"
            + body
        )
        (HERE.parent / path).write_text(raw.replace("\n", "\r\n"), encoding="utf-8")
        toml += [
            f'["{path}"]',
            'kind = "reply"',
            f"source = {json.dumps(source, ensure_ascii=False)}",
            f"text_has = {json.dumps([reply.text], ensure_ascii=False)}",
            f"text_lacks = {json.dumps(['Tenéis 10 minutos', 'Idea para vuestro equipo', 'ana@fluenzr.test', 'Ana Ruiz'], ensure_ascii=False)}",
            f'intent = "{reply.intent}"',
        ]
        if reply.referred:
            toml.append(f'referred = "{reply.referred}"')
        toml.append(f'in_reply_to = "outreach.{n}@fluenzr.test"')
        toml.append("")
    (HERE / "expected.toml").write_text("\n".join(toml), encoding="utf-8")
    print(f"{len(samples)} replies")


if __name__ == "__main__":
    main()
