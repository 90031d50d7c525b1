"""The jobfarm command line."""
