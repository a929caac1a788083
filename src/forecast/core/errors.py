"""User-facing errors. Every error a user can cause derives from ForecastError."""


class ForecastError(Exception):
    """An error caused by input; its message is fit to print as is (one line per problem)."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class SpecError(ForecastError):
    """A YAML file (workflow spec, price overrides) that cannot be read or fails validation."""


class PriceError(ForecastError):
    """A model or provider with no known price, or a price that does not apply at the date asked."""


class UsageError(ForecastError):
    """A usage, telemetry or billing file that cannot be loaded at all (rows are never dropped silently)."""
