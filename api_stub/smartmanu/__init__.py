"""The smartmanu dialect (seed 000): tokens, design generation, async batches, progress."""
