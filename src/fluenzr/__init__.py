"""FluenzR mail connections: connect any mailbox over SMTP/IMAP, send safely, detect replies."""

__version__ = "0.1.0"
