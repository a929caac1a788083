"""forecast: make AI inference spend predictable (unit economics, Monte Carlo, forecasts, ROI)."""

from .core.version import __version__

__all__ = ["__version__"]
