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
    """A library function's argument that breaks its rule. The message names the parameter, and the rule names
    the other parameters in `mentions` as {name}; the CLI names their options instead (`with_names`).

    >>> str(ParameterError("since", "2026-10-09", "must not be after {until} 2026-10-01", mentions=("until",)))
    'since 2026-10-09: must not be after until 2026-10-01'
    >>> ParameterError("since", "2026-10-09", "must not be after {until} 2026-10-01", mentions=("until",)).with_names(
    ...     lambda name: "--" + name).problems
    ['--since 2026-10-09: must not be after --until 2026-10-01']
    """

    def __init__(self, parameter: str, value, rule: str, mentions: tuple[str, ...] = ()):
        self.parameter, self.value, self.rule, self.mentions = parameter, value, rule, mentions
        super().__init__(self._text(lambda name: name))

    def _text(self, name_of) -> str:
        rule = self.rule
        for name in self.mentions:
            rule = rule.replace("{" + name + "}", name_of(name))
        return f"{name_of(self.parameter)} {self.value}: {rule}"

    def with_names(self, name_of) -> ForecastError:
        """The same problem with each parameter named by `name_of(parameter)` (e.g. its command-line option)."""
        return ForecastError(self._text(name_of))
