"""The HTTP layer: one router per client dialect, plus the native API."""
