"""Params of `design`, kept in `tasks.params.design` so the API validates them without
loading the drawing stack; re-exported here for the design modules."""

from tasks.params.design import (
    AiGeneratePattern,
    DesignParams,
    DesignText,
    ImagePattern,
    Pattern,
    SolidPattern,
    StripesPattern,
)

__all__ = [
    "AiGeneratePattern",
    "DesignParams",
    "DesignText",
    "ImagePattern",
    "Pattern",
    "SolidPattern",
    "StripesPattern",
]
