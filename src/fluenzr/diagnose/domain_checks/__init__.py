"""Deliverability checks of a sending domain and of Probar's test mail (docs/deliverability.md).

Domain checks (DNS only): :mod:`.mx`, :mod:`.spf`, :mod:`.dmarc`, :mod:`.dnsbl`. Evidence read
back from the test mail: :mod:`.dkim`, :mod:`.received` (sending IP, TLS per hop),
:mod:`.rdns`, :mod:`.auth_results`, :mod:`.unsubscribe`. Each check returns
:class:`~.findings.Finding` values: ok / warning / error, the record found, a fix (es/en/fr).
Every parser here reads hostile text: input is capped first, parsing is splitting (linear).
"""
