"""`./dev bench detect`: IMAP scan speed vs imapflow (P2) and 1,000 idle mailboxes (P3)."""
