"""The fractal3d dialect (seed 002): files, conversions, thumbnails, AccessTokens."""
