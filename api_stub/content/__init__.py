"""The content dialect (seed 003): the {code, message, data} envelope, credits, models."""
