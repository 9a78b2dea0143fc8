"""The persistent-target commands: `bootstrap`, `smoke` and `evidence`, driven by the repository's
`[tool.chconform.bootstrap]`, `[tool.chconform.smoke]` and `[tool.chconform.evidence]` tables.

Rooms: bootstrap (the target, sessions, applying the canonical DDL and the grants), smoke (reading
every object, payloads), runtime (runtime folders, the lock), and the evidence pipeline: checklist,
steps, idempotency, render, edges, pipeline (the order).
"""
