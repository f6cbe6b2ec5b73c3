"""Diagnosis: Probar (connection test steps), port probing and autodetect.

The error taxonomy (codes → categories) is data in :mod:`fluenzr.error_codes`; the SMTP
reply classifier in :mod:`fluenzr.mail.reply_codes`. Everything here talks to the network only
through seams (a resolver, an HTTP client, a probe function) so tests point them at local servers.
"""
