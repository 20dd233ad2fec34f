"""Normalization: trace records into the one turn model the viewer and exporters render (model.py).

Entry points: `normalize_records` / `SessionNormalizer` (session.py), `usage_of` / `add_usage`
(usage.py), `cost_of` (pricing.py). Everything here is pure: no I/O beyond reading the shipped price
table, no clock, no sockets.
"""
