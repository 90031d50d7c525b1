"""Job kinds as plain functions: inputs, params and a progress callback in, files out."""
