# ruff: noqa: E501  (templates of MTA text: their lines are as long as the MTAs write them)
"""Write the MTA bounce corpus (tests/corpus/mta/*.eml + tests/corpus/mta/expected.toml).

Run ``.venv/bin/python tests/corpus/generate_bounces.py``; the output is committed. Every shape
below was written by us from a public description of what that MTA sends (the ``source`` of each
shape names it: an RFC, the MTA's documentation or source, or the format a maintained bounce
detector — GNU Mailman's flufl.bounce, sisimai — documents for it). Nothing is copied from
real mail. Each shape renders several cases (one or more recipients, permanent or temporary,
with or without the original attached) so the classifier is measured per field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "mta"
SENDER = "ana@fluenzr.test"
COLLEAGUE = "jorge@fluenzr.test"  # in the original's Cc / signature: never a failed recipient


@dataclass
class Case:
    rcpts: list[str]
    status: str = "5.1.1"
    code: str = "550"
    reason: str = "User unknown"
    permanent: bool = True
    original: bool = True
    n: int = 0
    msgid: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def original_headers(c: Case) -> str:
    return (
        f"Return-Path: <{SENDER}>\n"
        f"From: Ana Ruiz <{SENDER}>\n"
        f"To: {', '.join(c.rcpts)}\n"
        f"Cc: Jorge <{COLLEAGUE}>\n"
        f"Subject: Idea para vuestro equipo\n"
        f"Date: Mon, 16 Nov 2026 09:00:00 +0100\n"
        f"Message-ID: <{c.msgid}>\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n"
    )


def original_body() -> str:
    return (
        "Hola,\n\n¿Tenéis 10 minutos esta semana? Escribidme a ventas@fluenzr.test o a\n"
        f"{COLLEAGUE}.\n\nAna\n"
    )


def original_message(c: Case) -> str:
    return original_headers(c) + "\n" + original_body()


def envelope(
    c: Case,
    *,
    from_: str,
    subject: str,
    ctype: str,
    extra: str = "",
    return_path: str = "<>",
) -> str:
    return (
        f"Return-Path: {return_path}\n"
        f"Received: from mx.remote.example ([192.0.2.25]) by mail.fluenzr.test; "
        f"Mon, 16 Nov 2026 09:00:{c.n % 60:02d} +0100\n"
        f"From: {from_}\n"
        f"To: {SENDER}\n"
        f"Subject: {subject}\n"
        f"Date: Mon, 16 Nov 2026 09:01:{c.n % 60:02d} +0100\n"
        f"Message-ID: <bounce.{c.n}.{hashlib.sha256(subject.encode()).hexdigest()[:8]}@remote.example>\n"
        f"{extra}"
        f"MIME-Version: 1.0\n"
        f"Content-Type: {ctype}\n"
    )


def dsn_part(c: Case, *, mta: str, action: str | None = None, diag: bool = True) -> str:
    act = action or ("failed" if c.permanent else "delayed")
    blocks = [f"Reporting-MTA: dns; {mta}\nArrival-Date: Mon, 16 Nov 2026 09:00:00 +0100\n"]
    for r in c.rcpts:
        block = f"Final-Recipient: rfc822; {r}\nOriginal-Recipient: rfc822;{r}\nAction: {act}\nStatus: {c.status}\n"
        if diag:
            block += f"Remote-MTA: dns; mx.{r.split('@')[1]}\nDiagnostic-Code: smtp; {c.code} {c.status} <{r}>: {c.reason}\n"
        blocks.append(block)
    return "Content-Type: message/delivery-status\n\n" + "\n".join(blocks)


def multipart(boundary: str, parts: list[str]) -> str:
    body = "This is a MIME-encapsulated message.\n\n"
    for p in parts:
        body += f"--{boundary}\n{p}\n"
    return body + f"--{boundary}--\n"


def report(
    c: Case, human: str, *, mta: str, headers_only: bool = False, action: str | None = None
) -> list[str]:
    parts = [
        "Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\n\n" + human,
        "Content-Description: Delivery report\n" + dsn_part(c, mta=mta, action=action),
    ]
    if c.original:
        if headers_only:
            parts.append("Content-Type: text/rfc822-headers\n\n" + original_headers(c))
        else:
            parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    return parts


def rtype(b: str) -> str:
    return f'multipart/report; report-type=delivery-status;\n\tboundary="{b}"'


def mixed(b: str) -> str:
    return f'multipart/mixed; boundary="{b}"'


# --- shapes ------------------------------------------------------------------------------------


def postfix_new(c: Case) -> str:
    host = "mail.fluenzr.test"
    lines = "\n".join(
        f"<{r}>: host mx.{r.split('@')[1]}[198.51.100.7] said: {c.code} {c.status}\n    <{r}>: Recipient address rejected: {c.reason} (in reply to RCPT TO\n    command)"
        for r in c.rcpts
    )
    human = (
        f"This is the mail system at host {host}.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n\n"
        f"                   The mail system\n\n{lines}\n"
    )
    b = "4C1A2B3C4D.1700000000/mail.fluenzr.test"
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.fluenzr.test (Mail Delivery System)",
        subject="Undelivered Mail Returned to Sender",
        ctype=rtype(b),
        extra="Auto-Submitted: auto-replied\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta=host, headers_only=c.n % 2 == 0))


def postfix_old(c: Case) -> str:
    host = "smtp.fluenzr.test"
    lines = "\n".join(
        f"<{r}>: host mx.{r.split('@')[1]}[203.0.113.9] said: {c.code} {c.reason} (in\n    reply to RCPT TO command)"
        for r in c.rcpts
    )
    body = (
        f"This is the Postfix program at host {host}.\n\n"
        "I'm sorry to have to inform you that the message returned\n"
        "below could not be delivered to one or more destinations.\n\n"
        "For further assistance, please send mail to <postmaster>\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the message returned below.\n\n"
        f"\t\t\tThe Postfix program\n\n{lines}\n"
    )
    if c.original:
        body += "\n--- Undelivered message follows ---\n\n" + original_message(c)
    head = envelope(
        c,
        from_="MAILER-DAEMON@smtp.fluenzr.test (Mail Delivery System)",
        subject="Undelivered Mail Returned to Sender",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def postfix_delay(c: Case) -> str:
    host = "mail.fluenzr.test"
    lines = "\n".join(
        f"<{r}>: connect to mx.{r.split('@')[1]}[198.51.100.8]:25: Connection timed out"
        for r in c.rcpts
    )
    human = (
        f"This is the mail system at host {host}.\n\n"
        "####################################################################\n"
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
        "####################################################################\n\n"
        "Your message could not be delivered for more than 4 hour(s).\n"
        "It will be retried until it is 5 day(s) old.\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        f"                   The mail system\n\n{lines}\n"
    )
    b = "8F2E1D0C9B.1700000100/mail.fluenzr.test"
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.fluenzr.test (Mail Delivery System)",
        subject="Delayed Mail (still being retried)",
        ctype=rtype(b),
    )
    return head + "\n" + multipart(b, report(c, human, mta=host, headers_only=True))


def exim(c: Case) -> str:
    failed = "\n".join(
        f"  {r}\n    host mx.{r.split('@')[1]} [192.0.2.44]\n    SMTP error from remote mail server after RCPT TO:<{r}>:\n    {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"{failed}\n"
    )
    if c.original:
        body += (
            "\n------ This is a copy of the message, including all the headers. ------\n\n"
            + original_message(c)
        )
    head = envelope(
        c,
        from_="Mail Delivery System <Mailer-Daemon@smtp.remote.example>",
        subject="Mail delivery failed: returning message to sender",
        ctype="text/plain; charset=us-ascii",
        extra=f"X-Failed-Recipients: {', '.join(c.rcpts)}\nAuto-Submitted: auto-replied\n",
    )
    return head + "\n" + body


def exim_delay(c: Case) -> str:
    addrs = "\n".join(
        f"  {r}\n    Delay reason: SMTP error from remote mail server after RCPT TO:<{r}>:\n    {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    body = (
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        "recipients after more than 24 hours on the queue on smtp.remote.example.\n\n"
        "The message identifier is:     1sAbCd-000123-Xy\n"
        "The subject of the message is: Idea para vuestro equipo\n"
        "The date of the message is:    Mon, 16 Nov 2026 09:00:00 +0100\n\n"
        f"The address(es) to which delivery has not yet been made:\n\n{addrs}\n\n"
        "No action is required on your part. Delivery attempts will continue for\n"
        "some time, and this warning may be repeated at intervals if the message\n"
        "remains undelivered. Eventually the mail delivery software will give up,\n"
        "and when that happens, the message will be returned to you.\n"
    )
    head = envelope(
        c,
        from_="Mail Delivery System <Mailer-Daemon@smtp.remote.example>",
        subject="Warning: message 1sAbCd-000123-Xy delayed 24 hours",
        ctype="text/plain; charset=us-ascii",
        extra="X-Failed-Recipients: " + ", ".join(c.rcpts) + "\nAuto-Submitted: auto-replied\n"
        if c.n % 2
        else "Auto-Submitted: auto-replied\n",
    )
    return head + "\n" + body


def qmail(c: Case) -> str:
    recips = "\n".join(
        f"<{r}>:\n198.51.100.{20 + i} does not like recipient.\nRemote host said: {c.code} {c.status} {c.reason}\nGiving up on 198.51.100.{20 + i}.\n"
        for i, r in enumerate(c.rcpts)
    )
    body = (
        "Hi. This is the qmail-send program at mail.remote.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"{recips}\n"
    )
    if c.original:
        body += "--- Below this line is a copy of the message.\n\n" + original_message(c)
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.remote.example",
        subject="failure notice",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def sendmail(c: Case) -> str:
    errs = "\n".join(f"<{r}>\n    (reason: {c.code} {c.status} {c.reason})" for r in c.rcpts)
    trans = "\n".join(
        f"... while talking to mx.{r.split('@')[1]}.:\n>>> RCPT To:<{r}>\n<<< {c.code} {c.status} <{r}>... {c.reason}\n{c.code} {c.status} {r}... {c.reason}"
        for r in c.rcpts
    )
    human = (
        "The original message was received at Mon, 16 Nov 2026 09:00:00 +0100\n"
        "from mail.fluenzr.test [192.0.2.10]\n\n"
        f"   ----- The following addresses had permanent fatal errors -----\n{errs}\n\n"
        f"   ----- Transcript of session follows -----\n{trans}\n"
    )
    b = "2AG91x0q012345.1700000200/relay.remote.example"
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <MAILER-DAEMON@relay.remote.example>",
        subject="Returned mail: see transcript for details",
        ctype=rtype(b),
        extra="Auto-Submitted: auto-generated (failure)\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="relay.remote.example"))


def sendmail_warning(c: Case) -> str:
    trans = "\n".join(
        f"{r}... Deferred: Connection timed out with mx.{r.split('@')[1]}." for r in c.rcpts
    )
    human = (
        "    **********************************************\n"
        "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
        "    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
        "    **********************************************\n\n"
        "The original message was received at Mon, 16 Nov 2026 05:00:00 +0100\n"
        "from mail.fluenzr.test [192.0.2.10]\n\n"
        f"   ----- Transcript of session follows -----\n{trans}\n"
        "Warning: message still undelivered after 4 hours\n"
        "Will keep trying until message is 5 days old\n"
    )
    b = "2AG95x0q019999.1700000300/relay.remote.example"
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <MAILER-DAEMON@relay.remote.example>",
        subject="Warning: could not send message for past 4 hours",
        ctype=rtype(b),
        extra="Auto-Submitted: auto-generated (warning-timeout)\n",
    )
    return (
        head + "\n" + multipart(b, report(c, human, mta="relay.remote.example", headers_only=True))
    )


def exchange_2003(c: Case) -> str:
    recips = "\n".join(
        f"      {r} on 16/11/2026 9:01\n            The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, or contact the recipient directly to find out the correct address.\n            <EXCH01.remote.example #{c.status}>"
        for r in c.rcpts
    )
    human = (
        "Your message did not reach some or all of the intended recipients.\n\n"
        "      Subject:\tIdea para vuestro equipo\n"
        "      Sent:\t16/11/2026 9:00\n\n"
        f"The following recipient(s) could not be reached:\n\n{recips}\n"
    )
    b = "----_=_NextPart_001_01C9A1B2.3C4D5E6F"
    head = envelope(
        c,
        from_="System Administrator <postmaster@remote.example>",
        subject="Undeliverable: Idea para vuestro equipo",
        ctype=rtype(b),
        extra="X-MimeOLE: Produced By Microsoft Exchange V6.5\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="EXCH01.remote.example"))


def exchange_2000(c: Case) -> str:
    recips = "\n".join(
        f"        SMTP={r}; on Mon, 16 Nov 2026 09:01:00 +0100\n              The recipient name is not recognized\n\tThe MTS-ID of the original message is: c=ES;a= ;p=REMOTE;l=EXCH0011160801ABCDEF\n              MSEXCH:IMS:REMOTE:SITE:EXCH00 0 (000C05A6) Unknown Recipient"
        for r in c.rcpts
    )
    body = (
        "Your message\n\n  To:      "
        + ", ".join(c.rcpts)
        + "\n  Subject: Idea para vuestro equipo\n"
        "  Sent:    Mon, 16 Nov 2026 09:00:00 +0100\n\n"
        f"did not reach the following recipient(s):\n\n{recips}\n"
    )
    b = "----_=_NextPart_000_01C0A1B2.ABCDEF01"
    parts = ["Content-Type: text/plain; charset=iso-8859-1\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="System Administrator <postmaster@remote.example>",
        subject="Undeliverable: Idea para vuestro equipo",
        ctype=mixed(b),
        extra="X-Mailer: Internet Mail Service (5.5.2653.19)\n",
    )
    return head + "\n" + multipart(b, parts)


def exchange_2010(c: Case) -> str:
    first = "\n".join(
        f"{r}\nThe e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk."
        for r in c.rcpts
    )
    diag = "\n".join(
        f"{r}\n#{c.code} {c.status} RESOLVER.ADR.RecipNotFound; not found ##" for r in c.rcpts
    )
    human = (
        f"Delivery has failed to these recipients or groups:\n\n{first}\n\n\n\n\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: EX2010.remote.example\n\n"
        f"{diag}\n\nOriginal message headers:\n\n" + original_headers(c)
    )
    b = "_000_0123456789abcdef_"
    head = envelope(
        c,
        from_="Microsoft Exchange <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@remote.example>",
        subject="Undeliverable: Idea para vuestro equipo",
        ctype=rtype(b),
        extra="X-MS-Exchange-Message-Is-Ndr: \nAuto-Submitted: auto-replied\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="EX2010.remote.example"))


def o365(c: Case) -> str:
    r0 = c.rcpts[0]
    user, dom = r0.split("@")
    human = (
        f"Your message to {r0} couldn't be delivered.\n"
        f"{user} wasn't found at {dom}.\n\n"
        "Action Required                                     Recipient\nUnknown To address\n\n"
        "How to Fix It\nThe address may be misspelled or may not exist. Try one or more of the following:\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com\n\n"
        + "\n".join(
            f"{r}\nRemote Server returned '{c.code} {c.status} RESOLVER.ADR.RecipientNotFound; {c.reason}'"
            for r in c.rcpts
        )
        + "\n\nOriginal message headers:\n\n"
        + original_headers(c)
    )
    b = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
    head = envelope(
        c,
        from_=f"Microsoft Outlook <MAILER-DAEMON@{dom.replace('.', '')}.onmicrosoft.com>",
        subject="Undeliverable: Idea para vuestro equipo",
        ctype=rtype(b),
        extra="X-MS-Exchange-Message-Is-Ndr: \nContent-Language: en-US\n",
    )
    return (
        head
        + "\n"
        + multipart(b, report(c, human, mta="AM0PR01MB1234.eurprd01.prod.exchangelabs.com"))
    )


def exchange_delay(c: Case) -> str:
    human = (
        "Delivery is delayed to these recipients or groups:\n\n"
        + "\n".join(c.rcpts)
        + "\n\nSubject: Idea para vuestro equipo\n\n"
        "This message hasn't been delivered yet. Delivery will continue to be attempted.\n\n"
        "The server will keep trying to deliver this message for the next 1 days, 19 hours and 53 minutes. You'll be notified if the message can't be delivered by that time.\n\n"
        "Diagnostic information for administrators:\n\nGenerating server: EX2016.remote.example\n"
        + "\n".join(
            f"Receiving server: mx.{r.split('@')[1]}\n{r}\nRemote Server at mx.{r.split('@')[1]} returned '{c.code} {c.status} {c.reason}'"
            for r in c.rcpts
        )
    )
    b = "_000_delay_0011_"
    head = envelope(
        c,
        from_="Microsoft Outlook <postmaster@remote.example>",
        subject="Delivery delayed:Idea para vuestro equipo",
        ctype=rtype(b),
        extra="X-MS-Exchange-Message-Is-Ndr: \n",
    )
    return (
        head + "\n" + multipart(b, report(c, human, mta="EX2016.remote.example", headers_only=True))
    )


def exchange_es(c: Case) -> str:
    human = (
        "Error al entregar a estos destinatarios o grupos:\n\n"
        + "\n".join(
            f"{r}\nNo se encontró la dirección de correo que especificó. Compruebe la dirección de correo del destinatario e intente reenviar el mensaje."
            for r in c.rcpts
        )
        + "\n\nInformación de diagnóstico para administradores:\n\nServidor de generación: EXCH.remote.example\n\n"
        + "\n".join(
            f"{r}\n#{c.code} {c.status} RESOLVER.ADR.RecipNotFound; not found ##" for r in c.rcpts
        )
        + "\n\nEncabezados del mensaje original:\n\n"
        + original_headers(c)
    )
    b = "_000_es_0022_"
    head = envelope(
        c,
        from_="Microsoft Outlook <postmaster@remote.example>",
        subject="No se puede entregar: Idea para vuestro equipo",
        ctype=rtype(b),
        extra="Content-Language: es-ES\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="EXCH.remote.example"))


def exchange_fr(c: Case) -> str:
    human = (
        f"Votre message à {c.rcpts[0]} n'a pas pu être remis.\n\n"
        + "\n".join(
            f"{r}\nLe serveur distant a renvoyé « {c.code} {c.status} {c.reason} »" for r in c.rcpts
        )
        + "\n\nInformations de diagnostic pour les administrateurs :\n\nServeur de génération : PR1P264MB0001.FRAP264.PROD.OUTLOOK.COM\n"
    )
    b = "_000_fr_0033_"
    head = envelope(
        c,
        from_="Microsoft Outlook <postmaster@remote.example>",
        subject="Non remis : Idea para vuestro equipo",
        ctype=rtype(b),
        extra="Content-Language: fr-FR\n",
    )
    return (
        head
        + "\n"
        + multipart(
            b, report(c, human, mta="PR1P264MB0001.FRAP264.PROD.OUTLOOK.COM", headers_only=True)
        )
    )


def exchange_de(c: Case) -> str:
    human = (
        "Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen:\n\n"
        + "\n".join(f"{r}\nDie eingegebene E-Mail-Adresse wurde nicht gefunden." for r in c.rcpts)
        + "\n\nDiagnoseinformationen für Administratoren:\n\nGenerierender Server: EX.remote.example\n\n"
        + "\n".join(
            f"{r}\n#{c.code} {c.status} RESOLVER.ADR.RecipNotFound; not found ##" for r in c.rcpts
        )
    )
    b = "_000_de_0044_"
    head = envelope(
        c,
        from_="Microsoft Outlook <postmaster@remote.example>",
        subject="Unzustellbar: Idea para vuestro equipo",
        ctype=rtype(b),
        extra="Content-Language: de-DE\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="EX.remote.example"))


def lotus_domino(c: Case) -> str:
    r0 = c.rcpts[0]
    body = (
        "Your message\n\n  Subject: Idea para vuestro equipo\n\nwas not delivered to:\n\n"
        + "\n".join(f"  {r}" for r in c.rcpts)
        + "\n\nbecause:\n\n"
        + "\n".join(
            f"  User {r.split('@')[0]} ({r}) not listed in Domino Directory" for r in c.rcpts
        )
        + "\n"
    )
    b = "=_mixed 003A1B2C00257E3F_="
    parts = ["Content-Type: text/plain; charset=US-ASCII\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="Postmaster@remote.example",
        subject=f"DELIVERY FAILURE: User {r0.split('@')[0]} ({r0}) not listed in Domino Directory",
        ctype=mixed(b),
        extra="X-Mailer: Lotus Domino Release 8.5.3FP6 November 21, 2013\n",
    )
    return head + "\n" + multipart(b, parts)


def groupwise(c: Case) -> str:
    body = (
        "The message that you sent was undeliverable to the following:\n"
        + "\n".join(f"\t{r} (user not found)" for r in c.rcpts)
        + "\n\nPossible causes:\n\tThe e-mail address was incorrect.\n\tThe user's mailbox was removed.\n"
    )
    b = "=_GW_Boundary_0011"
    parts = ["Content-Type: text/plain\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="Mail Delivery System <Postmaster@gw.remote.example>",
        subject="Message status - undeliverable",
        ctype=mixed(b),
        extra="X-Mailer: Novell GroupWise Internet Agent 8.0.2\n",
    )
    return head + "\n" + multipart(b, parts)


def novell_ntmail(c: Case) -> str:
    body = (
        "The following recipients did not receive the attached mail.\n"
        "A NDR (Non-Delivery Report) has been generated.\n\n"
        + "\n".join(f"<{r}>  {c.code} {c.reason}" for r in c.rcpts)
        + "\n"
    )
    b = "=_NTMail_0022"
    parts = ["Content-Type: text/plain\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="postmaster@ntmail.remote.example",
        subject="Delivery Report (failure)",
        ctype=mixed(b),
        extra="X-Mailer: NTMail v7.02.3037\n",
    )
    return head + "\n" + multipart(b, parts)


def yahoo(c: Case) -> str:
    recips = "\n".join(
        f"<{r}>:\nRemote host said: {c.code} {c.status} {c.reason} [RCPT_TO]\n" for r in c.rcpts
    )
    body = f"Sorry, we were unable to deliver your message to the following address.\n\n{recips}\n"
    if c.original:
        body += "--- Below this line is a copy of the message.\n\n" + original_message(c)
    head = envelope(
        c,
        from_="MAILER-DAEMON@yahoo.com",
        subject="Failure Notice",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def yahoo_old(c: Case) -> str:
    recips = "\n".join(f"<{r}>:\n{c.code} {c.reason}\n" for r in c.rcpts)
    body = (
        "Message from  yahoo.com.\n"
        "Unable to deliver message to the following address(es).\n\n"
        f"{recips}\n"
    )
    if c.original:
        body += "--- Original message follows.\n\n" + original_message(c)
    head = envelope(
        c,
        from_="MAILER-DAEMON@yahoo.co.uk",
        subject="failure delivery",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def aol(c: Case) -> str:
    body = (
        "Your mail to the following recipients could not be delivered because they are not accepting mail from ana@fluenzr.test:\n"
        "\tmail to the following recipients could not be delivered\n"
        + "\n".join(f"\t{r}" for r in c.rcpts)
        + "\n\n"
    )
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <MAILER-DAEMON@aol.com>",
        subject="Returned mail: User unknown",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def gmail(c: Case) -> str:
    r0 = c.rcpts[0]
    human = (
        "\n** Address not found **\n\n"
        f"Your message wasn't delivered to {r0} because the address couldn't be found, or is unable to receive mail.\n\n"
        "Learn more here: https://support.google.com/mail/?p=NoSuchUser\n\n"
        f"The response from the remote server was:\n{c.code} {c.status} The email account that you tried to reach does not exist. {c.reason}\n"
    )
    b = "000000000000a1b2c3d4e5f6a7b8"
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        subject="Delivery Status Notification (Failure)",
        ctype=rtype(b),
        extra=f"Auto-Submitted: auto-replied\nX-Failed-Recipients: {', '.join(c.rcpts)}\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="googlemail.com"))


def gmail_old(c: Case) -> str:
    body = (
        "Delivery to the following recipient failed permanently:\n\n"
        + "\n".join(f"     {r}" for r in c.rcpts)
        + "\n\nTechnical details of permanent failure:\n"
        f"Google tried to deliver your message, but it was rejected by the server for the recipient domain {c.rcpts[0].split('@')[1]} by mx.{c.rcpts[0].split('@')[1]}. [192.0.2.77].\n\n"
        f"The error that the other server returned was:\n{c.code} {c.status} {c.reason}\n"
    )
    if c.original:
        body += "\n----- Original message -----\n\n" + original_message(c)
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        subject="Delivery Status Notification (Failure)",
        ctype="text/plain; charset=ISO-8859-1",
        extra=f"X-Failed-Recipients: {', '.join(c.rcpts)}\n",
    )
    return head + "\n" + body


def gmail_delay(c: Case) -> str:
    r0 = c.rcpts[0]
    human = (
        "\n** Message not delivered yet **\n\n"
        f"There was a temporary problem delivering your message to {r0}. Gmail will retry for 46 more hours. You'll be notified if the delivery fails permanently.\n\n"
        f"The response from the remote server was:\n{c.code} {c.status} {c.reason}\n"
    )
    b = "000000000000ffeeddccbbaa9988"
    head = envelope(
        c,
        from_="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        subject="Delivery Status Notification (Delay)",
        ctype=rtype(b),
        extra="Auto-Submitted: auto-replied\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="googlemail.com", headers_only=True))


def hotmail(c: Case) -> str:
    human = (
        "This is an automatically generated Delivery Status Notification.\n\n"
        "Delivery to the following recipients failed.\n\n"
        + "\n".join(f"       {r}" for r in c.rcpts)
        + "\n"
    )
    b = "9B095B5ADSN=_01CA1B2C3D4E5F60BAY0-MC1-F11"
    head = envelope(
        c,
        from_="postmaster@hotmail.com",
        subject="Delivery Status Notification (Failure)",
        ctype=rtype(b),
        extra="X-DSNContext: 335a7efd - 4523 - 00000001 - 80040546\n",
    )
    return head + "\n" + multipart(b, report(c, human, mta="BAY0-MC1-F11.Bay0.hotmail.com"))


def sina(c: Case) -> str:
    first = (
        "\n".join(f"<{r}>" for r in c.rcpts)
        + "\n\n"
        + "\n".join(f"{c.code} {c.reason}" for _ in c.rcpts)
        + "\n"
    )
    b = "=_sina_0055"
    parts = [
        "Content-Type: text/plain; charset=gb2312\n\n"
        "您发送的邮件以下收件人无法收到 (your mail could not be delivered to):\n" + first,
    ]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="MAILER-DAEMON@sina.com",
        subject="退信: Idea para vuestro equipo (Mail delivery failed)",
        ctype=mixed(b),
    )
    return head + "\n" + multipart(b, parts)


def smtp32(c: Case) -> str:
    verbs = ["Delivery failed 1 attempts:", "unknown user:", "User mailbox exceeds allowed size:"]
    verb = verbs[c.n % 2] if c.permanent else verbs[2]
    body = (
        "The original message was not completely delivered.\n\n"
        + "\n".join(f"{verb} {r}" for r in c.rcpts)
        + "\n\n"
    )
    if c.original:
        body += "----- Original message follows -----\n" + original_message(c)
    head = envelope(
        c,
        from_="postmaster@imail.remote.example",
        subject="Undeliverable Mail",
        ctype="text/plain; charset=us-ascii",
        extra="X-Mailer: <SMTP32 v8.15>\n",
    )
    return head + "\n" + body


def netscape(c: Case) -> str:
    reason = (
        "The user(s) account does not exist."
        if c.permanent
        else "The user(s) account is temporarily over quota."
    )
    body = (
        "This Message was undeliverable due to the following reason:\n\n"
        f"{reason}\n\n"
        + "\n".join(f"<{r}>" for r in c.rcpts)
        + "\n\nPlease reply to <Postmaster@nms.remote.example>\nif you feel this message to be in error.\n"
    )
    b = "Boundary_(ID_Nms3.6_0066)"
    parts = ["Content-Type: text/plain; charset=us-ascii\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    parts.append("Content-Type: text/plain; charset=us-ascii\n\n(end)\n")
    head = envelope(
        c,
        from_="Mail Administrator <Postmaster@nms.remote.example>",
        subject="Mail System Error - Returned Mail",
        ctype=f'multipart/report; boundary="{b}"',
    )
    return head + "\n" + multipart(b, parts)


def mirapoint(c: Case) -> str:
    body = (
        "This Message was undeliverable due to the following reason:\n\n"
        "Each of the following recipients was rejected by a remote mail server.\n"
        "The reasons given by the server are included to help you determine why\n"
        "each recipient was rejected.\n\n"
        + "\n".join(
            f"    Recipient: <{r}>\n    Reason:    {c.code} {c.status} <{r}>... {c.reason}"
            for r in c.rcpts
        )
        + "\n\nPlease reply to <postmaster@mx.remote.example>\nif you feel this message to be in error.\n"
    )
    if c.original:
        body += "\n--- Original message follows ---\n" + original_message(c)
    head = envelope(
        c,
        from_="Mail Administrator <MAILER-DAEMON@mx.remote.example>",
        subject="Mail System Error - Returned Mail",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def mailru(c: Case) -> str:
    failed = "\n".join(
        f"  {r}\n    SMTP error from remote mail server after RCPT TO:<{r}>:\n    host mx.{r.split('@')[1]} [192.0.2.81]: {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    body = (
        "Это письмо создано автоматически сервером Mail.Ru,\n"
        "отвечать на него не нужно.\n\n"
        "К сожалению, Ваше письмо не может быть доставлено одному или нескольким\n"
        "получателям:\n\n"
        f"{failed}\n\n"
        "Рекомендуем Вам проверить корректность указания адресов получателей.\n\n"
        "--\nThis message was created automatically by mail delivery software.\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"{failed}\n"
    )
    if c.original:
        body += (
            "\n------ This is a copy of the message, including all the headers. ------\n\n"
            + original_message(c)
        )
    head = envelope(
        c,
        from_="Mail Delivery System <MAILER-DAEMON@corp.mail.ru>",
        subject="=?UTF-8?B?0J3QtSDQtNC+0YHRgtCw0LLQu9C10L3QviDRgdC+0L7QsdGJ0LXQvdC40LU=?= (Mail delivery failed)",
        ctype="text/plain; charset=utf-8",
        extra=f"X-Failed-Recipients: {', '.join(c.rcpts)}\nAuto-Submitted: auto-replied\n",
    )
    return head + "\n" + body


def yandex(c: Case) -> str:
    lines = "\n".join(
        f"<{r}>: host mx.{r.split('@')[1]}[192.0.2.90] said: {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    human = (
        "This is the mail system at host forward1.mail.yandex.net.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "Please, do not reply to this message.\n\n\n"
        f"{lines}\n"
    )
    b = "B1A2C3D4E5.1700000400/forward1.mail.yandex.net"
    head = envelope(
        c,
        from_="mailer-daemon@yandex.ru",
        subject="=?UTF-8?B?0J3QtdC00L7RgdGC0LDQstC70LXQvdC90L7QtSDRgdC+0L7QsdGJ0LXQvdC40LU=?=",
        ctype=rtype(b),
    )
    return head + "\n" + multipart(b, report(c, human, mta="forward1.mail.yandex.net"))


def aws_ses(c: Case) -> str:
    human = (
        "An error occurred while trying to deliver the mail to the following recipients:\n"
        + "\n".join(c.rcpts)
        + "\n"
    )
    b = "----=_Part_1234567_890123456.1700000500000"
    head = envelope(
        c,
        from_="MAILER-DAEMON@amazonses.com",
        subject="Delivery Status Notification (Failure)",
        ctype=rtype(b),
        extra="X-SES-Outgoing: 2026.11.16-54.240.0.1\n",
    )
    return (
        head + "\n" + multipart(b, report(c, human, mta="a1-23.smtp-out.eu-west-1.amazonses.com"))
    )


def aws_workmail(c: Case) -> str:
    human = (
        "Your message couldn't be delivered to the following recipients:\n\n"
        + "\n".join(f"{r}: {c.code} {c.status} {c.reason}" for r in c.rcpts)
        + "\n\nThis is an automatically generated message from Amazon WorkMail.\n"
    )
    b = "----=_Part_wm_0077"
    head = envelope(
        c,
        from_="MAILER-DAEMON@eu-west-1.awsapps.com",
        subject="Undeliverable: Idea para vuestro equipo",
        ctype=rtype(b),
    )
    return (
        head
        + "\n"
        + multipart(b, report(c, human, mta="smtp.mail.eu-west-1.awsapps.com", headers_only=True))
    )


def courier(c: Case) -> str:
    human = (
        "This is a delivery status notification from mail.remote.example,\n"
        "running the Courier mail server, version 1.1.4.\n\n"
        "The original message was received on Mon, 16 Nov 2026 09:00:00 +0100\n"
        "from mail.fluenzr.test [192.0.2.10]\n\n"
        "---------------------------------------------------------------------------\n\n"
        "                           UNDELIVERABLE MAIL\n\n"
        "Your message to the following recipients cannot be delivered:\n\n"
        + "\n".join(
            f"<{r}>:\n    mx.{r.split('@')[1]} [192.0.2.91]:\n>>> RCPT TO:<{r}>\n<<< {c.code} {c.status} {c.reason}"
            for r in c.rcpts
        )
        + "\n\n---------------------------------------------------------------------------\n"
    )
    b = "=_courier_0088"
    head = envelope(
        c,
        from_="Courier mail server at mail.remote.example <@>",
        subject="DELIVERY FAILURE: " + c.reason,
        ctype=rtype(b),
    )
    return head + "\n" + multipart(b, report(c, human, mta="mail.remote.example"))


def mdaemon(c: Case) -> str:
    body = (
        "The attached message had PERMANENT fatal delivery errors!\n\n"
        "After one or more unsuccessful delivery attempts the attached message has\n"
        "been removed from the mail queue on this server.  The number and frequency\n"
        "of delivery attempts are determined by local configuration parameters.\n\n"
        "YOUR MESSAGE WAS NOT DELIVERED TO ONE OR MORE RECIPIENTS!\n\n"
        "--- Session Transcript ---\n"
        + "\n".join(
            f" Mon 2026-11-16 09:00:01: Attempting to send message to {r}\n Mon 2026-11-16 09:00:02: --> RCPT To:<{r}>\n Mon 2026-11-16 09:00:02: <-- {c.code} {c.status} {c.reason}"
            for r in c.rcpts
        )
        + "\n--- End Transcript ---\n"
    )
    b = "=_MDaemon_0099"
    parts = ["Content-Type: text/plain; charset=us-ascii\n\n" + body]
    if c.original:
        parts.append("Content-Type: message/rfc822\n\n" + original_message(c))
    head = envelope(
        c,
        from_="MDaemon@mail.remote.example",
        subject="Permanent Delivery Failure",
        ctype=mixed(b),
        extra="X-MDaemon-Deliver-To: ana@fluenzr.test\nX-Mailer: MDaemon PRO v16.5.2\n",
    )
    return head + "\n" + multipart(b, parts)


def postfix_de(c: Case) -> str:
    lines = "\n".join(
        f"<{r}>: host mx.{r.split('@')[1]}[192.0.2.95] said: {c.code} {c.status} {c.reason}\n    (in reply to RCPT TO command)"
        for r in c.rcpts
    )
    human = (
        "Dies ist das Mailsystem auf dem Rechner mail.remote.example.\n\n"
        "Leider muss ich Ihnen mitteilen, dass Ihre Nachricht nicht an einen oder\n"
        "mehrere Empfänger zugestellt werden konnte. Sie ist unten angehängt.\n\n"
        f"                   Das Mailsystem\n\n{lines}\n"
    )
    b = "5E6F7A8B9C.1700000600/mail.remote.example"
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.remote.example (Mail-Zustellsystem)",
        subject="Unzustellbar: Nachricht an den Absender zurückgeschickt",
        ctype=rtype(b),
    )
    return head + "\n" + multipart(b, report(c, human, mta="mail.remote.example"))


def postfix_fr(c: Case) -> str:
    lines = "\n".join(
        f"<{r}>: l'hôte mx.{r.split('@')[1]}[192.0.2.96] a répondu : {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    human = (
        "Ceci est le système de messagerie de l'hôte mail.remote.example.\n\n"
        "J'ai le regret de vous informer que votre message n'a pas pu être remis\n"
        "à un ou plusieurs destinataires. Il est joint ci-dessous.\n\n"
        f"                   Le système de messagerie\n\n{lines}\n"
    )
    b = "6A7B8C9D0E.1700000700/mail.remote.example"
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.remote.example (Système de distribution du courrier)",
        subject="Courrier non remis : renvoyé à l'expéditeur",
        ctype=rtype(b),
    )
    return (
        head + "\n" + multipart(b, report(c, human, mta="mail.remote.example", headers_only=True))
    )


def ovh_es(c: Case) -> str:
    lines = "\n".join(
        f"<{r}>: el servidor mx.{r.split('@')[1]}[192.0.2.97] dijo: {c.code} {c.status} {c.reason}"
        for r in c.rcpts
    )
    human = (
        "Este es el sistema de correo del servidor mail.remote.example.\n\n"
        "Lamento informarle de que su mensaje no se ha podido entregar a uno o\n"
        "más destinatarios. Se adjunta a continuación.\n\n"
        f"                   El sistema de correo\n\n{lines}\n"
    )
    b = "7B8C9D0E1F.1700000800/mail.remote.example"
    head = envelope(
        c,
        from_="MAILER-DAEMON@mail.remote.example (Sistema de entrega de correo)",
        subject="Correo no entregado devuelto al remitente",
        ctype=rtype(b),
    )
    return head + "\n" + multipart(b, report(c, human, mta="mail.remote.example"))


def caiwireless(c: Case) -> str:
    body = (
        "The following recipients did not receive this message:\n\n"
        + "\n".join(f"<{r}>" for r in c.rcpts)
        + "\n\nPlease reply to <postmaster@caiwireless.example>\nif you feel this message to be in error.\n"
    )
    head = envelope(
        c,
        from_="postmaster@caiwireless.example",
        subject="Undeliverable mail",
        ctype="text/plain; charset=us-ascii",
    )
    return head + "\n" + body


def zoho(c: Case) -> str:
    body = (
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent could not be delivered to one or more of its recipients.\n"
        "This is a permanent error.\n\n"
        + "\n".join(f"{r}, ERROR CODE :{c.code} - {c.reason}" for r in c.rcpts)
        + "\n"
    )
    if c.original:
        body += "\nReceived: from mail.fluenzr.test by mx.zoho.eu\n" + original_message(c)
    head = envelope(
        c,
        from_="mailer-daemon@mail.zoho.eu",
        subject="Undelivered Mail Returned to Sender",
        ctype="text/plain; charset=UTF-8",
    )
    return head + "\n" + body


@dataclass
class Shape:
    name: str
    render: Callable[[Case], str]
    source: str
    cases: list[Case]


def P(
    *rcpts: str,
    status: str = "5.1.1",
    code: str = "550",
    reason: str = "User unknown",
    original: bool = True,
) -> Case:
    return Case(
        list(rcpts), status=status, code=code, reason=reason, permanent=True, original=original
    )


def T(
    *rcpts: str,
    status: str = "4.4.1",
    code: str = "451",
    reason: str = "Connection timed out",
    original: bool = True,
) -> Case:
    return Case(
        list(rcpts), status=status, code=code, reason=reason, permanent=False, original=original
    )


STD = [
    P("nobody@example.net"),
    P("J.Smith+sales@example.org".lower()),
    P("first@example.com", "second@example.com", reason="No such user"),
    P("gone.away@sub.example.co.uk", status="5.1.10", reason="Recipient not found", original=False),
    P("quota@example.de", status="5.2.1", reason="Mailbox disabled, not accepting messages"),
]
SHAPES = [
    Shape("postfix_dsn", postfix_new, "Postfix bounce(5) templates, RFC 3464", STD),
    Shape(
        "postfix_old", postfix_old, "Postfix < 2.0 bounce text (flufl.bounce postfix detector)", STD
    ),
    Shape(
        "postfix_delay",
        postfix_delay,
        "Postfix bounce(5) delay template, RFC 3464 Action: delayed",
        [
            T("slow@example.org"),
            T("a@example.net", "b@example.net"),
            T("late@example.com", status="4.4.2", code="421", reason="lost connection"),
        ],
    ),
    Shape("exim", exim, "Exim spec ch. 48 (bounce messages), X-Failed-Recipients", STD),
    Shape(
        "exim_delay",
        exim_delay,
        "Exim warning_message template (delay_warning)",
        [
            T("waiting@example.org", code="451", status="4.7.1", reason="Greylisted"),
            T(
                "busy@example.com",
                "busy2@example.com",
                code="452",
                status="4.2.2",
                reason="Mailbox full",
            ),
            T("x@example.net"),
        ],
    ),
    Shape("qmail", qmail, "QSBMF, cr.yp.to/proto/qsbmf.txt", STD),
    Shape("sendmail", sendmail, "sendmail DSN with transcript, RFC 3464", STD),
    Shape(
        "sendmail_warning",
        sendmail_warning,
        "sendmail 'could not send message for past 4 hours' warning (Timeout.queuewarn)",
        [
            T("warn@example.org"),
            T("w1@example.com", "w2@example.com"),
            T("warn3@example.net", status="4.4.7", code="421", reason="timeout"),
        ],
    ),
    Shape(
        "exchange_2000",
        exchange_2000,
        "Exchange 5.5/2000 IMS NDR (flufl.bounce exchange detector)",
        STD,
    ),
    Shape("exchange_2003", exchange_2003, "Exchange 2003 NDR text, MS KB 284204 status codes", STD),
    Shape(
        "exchange_2010",
        exchange_2010,
        "Exchange 2007/2010 'Delivery has failed to these recipients or groups' NDR",
        STD,
    ),
    Shape(
        "office365",
        o365,
        "Exchange Online NDR (learn.microsoft.com 'Email non-delivery reports in Exchange Online')",
        [
            P(
                "j.smith@contoso.com",
                status="5.1.10",
                reason="Recipient not found by SMTP address lookup",
            ),
            P("ex.employee@fabrikam.com"),
            P(
                "x.y@contoso.com",
                status="5.4.1",
                reason="Recipient address rejected: Access denied",
            ),
            P("old@contoso.com", original=False),
            P("a@contoso.com", "b@contoso.com", status="5.1.10", reason="Recipient not found"),
        ],
    ),
    Shape(
        "exchange_delay",
        exchange_delay,
        "Exchange Online 'Delivery delayed' DSN (Action: delayed)",
        [
            T("later@example.org", status="4.4.7", code="450"),
            T(
                "l1@example.com",
                "l2@example.com",
                status="4.4.316",
                code="451",
                reason="Connection refused",
            ),
            T("q@example.net", status="4.3.2", code="452"),
        ],
    ),
    Shape("exchange_es", exchange_es, "Exchange NDR, Spanish locale", STD[:4]),
    Shape("exchange_fr", exchange_fr, "Exchange Online NDR, French locale ('Non remis')", STD[:4]),
    Shape("exchange_de", exchange_de, "Exchange NDR, German locale ('Unzustellbar')", STD[:4]),
    Shape(
        "lotus_domino",
        lotus_domino,
        "IBM Lotus Domino 'DELIVERY FAILURE' report (sisimai Domino)",
        STD,
    ),
    Shape(
        "groupwise",
        groupwise,
        "Novell GroupWise Internet Agent (flufl.bounce groupwise detector)",
        STD,
    ),
    Shape(
        "novell_ntmail",
        novell_ntmail,
        "NTMail / Novell NDR (flufl.bounce groupwise detector: X-Mailer NTMail)",
        STD[:4],
    ),
    Shape("yahoo", yahoo, "Yahoo! Mail failure notice (flufl.bounce yahoo detector)", STD),
    Shape(
        "yahoo_old",
        yahoo_old,
        "Yahoo! 'Message from yahoo.com' bounce (flufl.bounce yahoo detector)",
        STD[:4],
    ),
    Shape(
        "aol",
        aol,
        "AOL screen-name bounce (flufl.bounce aol detector)",
        [
            P("someone@aol.com"),
            P("a1@aol.com", "a2@aol.com"),
            P("xyz@aol.com", original=False),
            P("user.name@aol.com"),
        ],
    ),
    Shape("gmail", gmail, "Gmail DSN ('** Address not found **')", STD),
    Shape(
        "gmail_old",
        gmail_old,
        "Gmail pre-2014 'Delivery to the following recipient failed permanently'",
        STD,
    ),
    Shape(
        "gmail_delay",
        gmail_delay,
        "Gmail 'Delivery Status Notification (Delay)'",
        [
            T(
                "tmp@example.org",
                status="4.2.1",
                code="450",
                reason="The user you are trying to contact is receiving mail too quickly",
            ),
            T("tmp2@example.com"),
            T("tmp3@example.net", status="4.7.0", code="421", reason="Try again later"),
        ],
    ),
    Shape("hotmail", hotmail, "Hotmail / Outlook.com DSN (X-DSNContext)", STD),
    Shape("sina", sina, "sina.com bounce (flufl.bounce sina detector)", STD[:4]),
    Shape("smtp32", smtp32, "IMail SMTP32 (flufl.bounce smtp32 detector)", STD[:4]),
    Shape(
        "netscape",
        netscape,
        "Netscape Messaging Server 3.6/4.1 (flufl.bounce netscape detector)",
        [
            P("nms1@example.edu.au"),
            P("nms2@example.com", "nms3@example.com"),
            P("nms4@example.org", original=False),
            T("nms5@example.net", status="4.2.2", code="452", reason="over quota"),
        ],
    ),
    Shape("mail_system_error", mirapoint, "Mirapoint 'Mail System Error - Returned Mail'", STD),
    Shape("mailru", mailru, "Mail.Ru bounce (Russian + Exim text)", STD),
    Shape("yandex", yandex, "Yandex Postfix-based DSN ('Недоставленное сообщение')", STD[:4]),
    Shape(
        "aws_ses", aws_ses, "Amazon SES DSN (docs.aws.amazon.com SES bounce notifications)", STD[:4]
    ),
    Shape("aws_workmail", aws_workmail, "Amazon WorkMail NDR", STD[:4]),
    Shape("courier", courier, "Courier MTA courierdsn(8) report", STD[:4]),
    Shape("mdaemon", mdaemon, "MDaemon 'Permanent Delivery Failure' (sisimai MDaemon)", STD[:4]),
    Shape(
        "postfix_de",
        postfix_de,
        "Postfix bounce template, German translation (bounce.cf.default)",
        STD[:3],
    ),
    Shape("postfix_fr", postfix_fr, "Postfix bounce template, French translation", STD[:3]),
    Shape("postfix_es", ovh_es, "Postfix bounce template, Spanish translation", STD[:3]),
    Shape(
        "caiwireless",
        caiwireless,
        "caiwireless bounce (flufl.bounce caiwireless detector)",
        STD[:3],
    ),
    Shape("zoho", zoho, "Zoho Mail 'ERROR CODE' bounce", STD[:3]),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for old in HERE.glob("*.eml"):
        old.unlink()
    toml = [
        "# Generated by tests/corpus/generate_bounces.py: expectations of the MTA bounce corpus.",
        "# Paths are relative to tests/corpus; `source` names the public description each shape follows.",
        "",
    ]
    n = 2000
    shapes = 0
    for shape in SHAPES:
        shapes += 1
        for index, case in enumerate(shape.cases):
            n += 1
            c = Case(
                list(case.rcpts),
                status=case.status,
                code=case.code,
                reason=case.reason,
                permanent=case.permanent,
                original=case.original,
                n=n,
                msgid=f"outreach.{n}@fluenzr.test",
            )
            raw = shape.render(c)
            name = f"mta/{shape.name}_{index + 1}.eml"
            (HERE.parent / name).write_text(raw.replace("\n", "\r\n"), encoding="utf-8")
            toml.append(f'["{name}"]')
            toml.append('kind = "bounce"')
            toml.append(f"shape = {json.dumps(shape.name)}")
            toml.append(f"source = {json.dumps(shape.source, ensure_ascii=False)}")
            toml.append(f"failed = {json.dumps(c.rcpts)}")
            toml.append(f"permanent = {'true' if c.permanent else 'false'}")
            if f"<{c.msgid}>" in raw:
                toml.append(f'original = "{c.msgid}"')
            toml.append("")
    (HERE / "expected.toml").write_text("\n".join(toml), encoding="utf-8")
    print(f"{n - 2000} bounces, {shapes} shapes")


if __name__ == "__main__":
    main()
