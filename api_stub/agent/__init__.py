"""The agent API (seed 001): production status for automated callers, under /api/v2/ai."""
