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


class ParameterError(ForecastError):
    """A library function's argument that breaks its rule. The message names the parameter; the CLI names the
    option it maps to instead (see `with_name`).

    >>> str(ParameterError("utilisation", 1.5, "must be at most 1"))
    'utilisation 1.5: must be at most 1'
    >>> ParameterError("utilisation", 1.5, "must be at most 1").with_name("--utilisation").problems
    ['--utilisation 1.5: must be at most 1']
    """

    def __init__(self, parameter: str, value, rule: str):
        self.parameter, self.value, self.rule = parameter, value, rule
        super().__init__(f"{parameter} {value}: {rule}")

    def with_name(self, name: str) -> ForecastError:
        """The same problem, naming the parameter as `name` (e.g. a command-line option)."""
        return ForecastError(f"{name} {self.value}: {self.rule}")
