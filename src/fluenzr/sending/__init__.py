"""The sending system: outbox leases, pacing and limits, the worker, copy to Sent, recovery.

The only part of FluenzR that opens credentials (``services.accounts.open_credentials``).
"""
