"""The largest numbers the API takes: an id, page or offset above them is refused as
invalid before it reaches SQL, where it would overflow a column or a bound parameter."""

from __future__ import annotations

SQL_INT_MAX = 2**31 - 1
"""The largest integer id (PostgreSQL's INTEGER), page number or row offset."""
