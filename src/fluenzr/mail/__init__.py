"""Mail transports: TLS policy (:mod:`.tls`), SMTP (:mod:`.smtp`), IMAP (:mod:`.imap`).

The only place aiosmtplib, aioimaplib, ssl and socket exceptions are translated into
:class:`fluenzr.errors.MailError` (codes in :mod:`fluenzr.error_codes`).
"""
