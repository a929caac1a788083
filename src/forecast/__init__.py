"""forecast: make AI inference spend predictable (unit economics, Monte Carlo, forecasts, ROI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("forecast")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"
