"""The procurement platform (seed 004): its health check and its envelope."""
