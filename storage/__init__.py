"""The source of truth: SQL models, the job state machine, blobs and their URLs."""
