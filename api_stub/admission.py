"""Per-tenant caps on what a request may hold open in this API process: uploads in
flight, and requests that wait for their job. Past a cap the request is refused at
once (429), so one tenant's slow clients never take the slots, memory or connections
that others need. Counted in the event loop, so no lock is needed."""

from __future__ import annotations

from collections import Counter


class Admission:
    """Counts open requests per (tenant, class) against a cap."""

    def __init__(self) -> None:
        self._open: Counter[tuple[str, str]] = Counter()

    def enter(self, tenant_id: str, kind: str, cap: int) -> bool:
        """Take a slot; False (and nothing taken) when the tenant already holds `cap`."""
        key = (tenant_id, kind)
        if self._open[key] >= cap:
            return False
        self._open[key] += 1
        return True

    def leave(self, tenant_id: str, kind: str) -> None:
        key = (tenant_id, kind)
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def held(self, tenant_id: str, kind: str) -> int:
        return self._open[(tenant_id, kind)]
