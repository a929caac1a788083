"""A workflow spec calibrated from its production logs: every number the logs show, fitted, in the same schema.

`calibrate(workflow, observed)` takes what usage.calibration.observe measured and returns the calibrated
Workflow and one Fitted record per number (designed, observed, n, whether it was used). The fitting rules:
- a token count, calls per run, loop iterations or context growth: fixed at the p50 when its p10-p90 spread is
  within 2% of the p50, else lognormal by the observed p50 and p90;
- input tokens: the logs show a call's total; the designed parts stay, and the part that varies in the design
  (user, else context, else system) takes the total less the other parts and the tools' results;
- cache hit, retry and success rates: fixed at the observed share; routing: each model's share of the step's
  tasks (a model the spec does not route to becomes a route);
- tasks per month: the last month's tasks; monthly growth: the last month against the one before;
- a number measured on fewer than MIN_N observations stays as designed, and says so.
Tool fees, tool calls and result tokens, human cost, background calls and the batch flag are not in the logs:
they stay as designed and are listed. `spec_text` writes the calibrated spec as YAML with each fitted number
commented with its designed value, observed value and n.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import yaml

from ..core.formatting import number
from ..design.distributions import Fixed, LogNormal
from ..design.spec_data import Flow, number_data, workflow_data
from ..design.specs import INPUT_PARTS, LoopStep, ModelStep, Route, ToolStep, Workflow
from .calibration import Observed, Summary

MIN_N = 30  # observations a number needs before it replaces the designed one
SPREAD = 0.02  # p10-p90 within this share of the p50: a fixed number


@dataclass(frozen=True)
class Fitted:
    """One spec number against the logs: its path in the spec, designed and observed values, n, used or not."""

    path: tuple  # keys and list indices from the spec's top, e.g. ("steps", 0, "output_tokens")
    designed: str
    observed: str
    n: int
    used: bool
    note: str = ""
    value: float | None = None  # the fitted number's p50 (its value, when fixed); None when nothing was fitted

    def label(self) -> str:
        return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in self.path).replace(".[", "[")


def _shown(dist) -> str:
    data = number_data(dist)
    return yaml.safe_dump(dict(data) if isinstance(data, Flow) else data, default_flow_style=True).strip() \
        .removesuffix("...").strip()


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def fit_distribution(s: Summary, whole: bool = True):
    """Fixed at the p50 when the spread is small, else lognormal(p50, p90); None when too few observations.

    >>> fit_distribution(Summary(100, 99.0, 100.0, 101.0, 100.0))
    Fixed(value=100.0)
    >>> fit_distribution(Summary(100, 60.0, 120.0, 400.0, 170.0))
    LogNormal(p50=120.0, p90=400.0)
    >>> fit_distribution(Summary(5, 60.0, 120.0, 400.0, 170.0)) is None
    True
    """
    if s.n < MIN_N or s.p50 is None:
        return None
    p50 = round(s.p50) if whole else _round(s.p50)
    if s.p90 - s.p10 <= SPREAD * max(abs(s.p50), 1.0) or s.p50 <= 0 or s.p90 <= s.p50:
        return Fixed(float(p50))
    return LogNormal(p50=float(p50), p90=float(round(s.p90) if whole else _round(s.p90)))


def _fit_capped(s: Summary, cap_hit_rate: float | None, cap: int):
    """Loop iterations as a lognormal before the cap: when a tenth of the tasks or more stop at the cap, the
    observed p90 is the cap itself, so the p90 is the one that sends that share of tasks to it
    (P(X >= cap - 0.5) = the cap hit rate, X rounded as the engine rounds); else fit_distribution.

    >>> _fit_capped(Summary(1000, 4.0, 6.0, 8.0, 6.0), 0.25, 8)
    LogNormal(p50=6.0, p90=9.168)
    """
    import math

    from scipy.stats import norm

    fitted = fit_distribution(s, whole=False)
    h = cap_hit_rate or 0.0
    if fitted is None or not 0.1 <= h < 0.5 or s.p50 is None or not 0 < s.p50 < cap - 0.5:
        return fitted
    sigma = (math.log(cap - 0.5) - math.log(s.p50)) / norm.ppf(1 - h)
    return LogNormal(p50=_round(s.p50), p90=_round(s.p50 * math.exp(norm.ppf(0.9) * sigma)))


def _observed(s: Summary) -> str:
    if s.p50 is None:
        return "none logged"
    return f"p10 {number(s.p10)}, p50 {number(s.p50)}, p90 {number(s.p90)}, mean {number(s.mean)}"


class _Fitter:
    def __init__(self):
        self.records: list[Fitted] = []

    def number(self, path: tuple, designed, fitted, observed: str, n: int, note: str = ""):
        """The number to use at `path`: the fitted one when there is one, else the designed one (recorded)."""
        used = fitted is not None and n >= MIN_N
        why = note if used else "; ".join(x for x in (f"fewer than {MIN_N} observations: kept as designed", note) if x)
        value = float(fitted.ppf(0.5)) if fitted is not None else None
        self.records.append(Fitted(path, _shown(designed), observed, n, used, why, value))
        return fitted if used else designed

    def rate(self, path: tuple, designed, rate: float | None, n: int):
        fitted = Fixed(round(rate, 4)) if rate is not None and n >= MIN_N else None
        return self.number(path, designed, fitted, "none logged" if rate is None else f"{rate:.4f}", n)


def _input_tokens(fit: _Fitter, path: tuple, step: ModelStep, fed_mean: float, s: Summary):
    parts = step.input_tokens
    free = next((p for p in ("user", "context", "system") if not isinstance(getattr(parts, p), Fixed)), "user")
    other = sum(getattr(parts, p).mean() for p in INPUT_PARTS if p != free) + fed_mean
    shifted = Summary(s.n, *(None if v is None else max(v - other, 0.0) for v in (s.p10, s.p50, s.p90, s.mean)))
    designed = getattr(parts, free)
    if isinstance(designed, Fixed):  # every part fixed: the spread is the tools' results', so only the mean moves
        fitted = Fixed(float(round(shifted.mean))) if shifted.n >= MIN_N and shifted.mean is not None else None
    else:
        fitted = fit_distribution(shifted)
    note = (f"the logs show the whole input ({_observed(s)}); {free} takes it less the other parts and the "
            f"tools' results, {number(other)}" + ("; the mean, as every part is fixed" if isinstance(designed, Fixed)
                                                  else ""))
    value = fit.number((*path, "input_tokens", free), designed, fitted, _observed(shifted), s.n, note)
    return replace(parts, **{free: value})


def _routing(fit: _Fitter, path: tuple, step: ModelStep, shares: dict[str, float], n: int) -> tuple[Route, ...]:
    total = sum(shares.values()) or 1.0
    by_model = {key.rpartition("/")[2]: (key.rpartition("/")[0] or None, share / total)
                for key, share in shares.items()}
    designed = ", ".join([step.model] + [f"{r.model} {r.share:g}" for r in step.routing])
    observed = ", ".join(f"{m} {s:.3f}" for m, (_, s) in sorted(by_model.items()))
    others = {m: v for m, v in by_model.items() if m != step.model}
    routes = tuple(Route(model=m, share=round(s, 4), provider=p) for m, (p, s) in sorted(others.items()) if s > 0)
    used = n >= MIN_N
    fit.records.append(Fitted((*path, "routing"), designed, observed, n, used,
                              "" if used else f"fewer than {MIN_N} tasks: kept as designed"))
    return routes if used else step.routing


def calibrate(workflow: Workflow, observed: Observed) -> tuple[Workflow, list[Fitted], list[str]]:
    """The calibrated workflow, the fitted numbers, and the notes on what the logs could not show."""
    fit, notes = _Fitter(), []

    def steps_of(steps, path: tuple, fed_mean: float = 0.0):
        out = []
        for i, step in enumerate(steps):
            where = (*path, i)
            if isinstance(step, LoopStep):
                out.append(loop_of(step, where))
            elif isinstance(step, ToolStep):
                notes.append(f"{step.name}: tool calls, result tokens and fees are not in the logs: kept as designed")
                fed_mean += step.calls_per_run.mean() * step.result_tokens_per_call.mean()
                out.append(step)
            else:
                out.append(model_step(step, where, fed_mean))
                fed_mean = 0.0
        return tuple(out)

    def model_step(step: ModelStep, path: tuple, fed_mean: float) -> ModelStep:
        o = observed.steps.get(step.name)
        if o is None:
            notes.append(f"{step.name}: no logged call (step tag {step.name!r}): every number kept as designed")
            return step
        in_loop = any(step is s for loop in _loops(workflow.steps) for s in loop.steps)
        first_in_loop = any(step is _first_model(loop) for loop in _loops(workflow.steps))
        changes = {
            "input_tokens": _input_tokens(fit, path, step, fed_mean, o.input_tokens_first),
            "output_tokens": fit.number((*path, "output_tokens"), step.output_tokens,
                                        fit_distribution(o.output_tokens), _observed(o.output_tokens),
                                        o.output_tokens.n),
            "cache_hit_rate": fit.rate((*path, "cache_hit_rate"), step.cache_hit_rate, o.cache_hit_rate, o.attempts),
            "retry_rate": fit.rate((*path, "retry_rate"), step.retry_rate, o.retry_rate, o.calls),
            "routing": _routing(fit, path, step, o.model_shares, o.tasks),
        }
        if first_in_loop:
            notes.append(f"{step.name}: calls per run kept as designed (the loop's iterations are counted by them)")
        else:
            changes["calls_per_run"] = fit.number((*path, "calls_per_run"), step.calls_per_run,
                                                  fit_distribution(o.calls_per_run, whole=not in_loop),
                                                  _observed(o.calls_per_run), o.calls_per_run.n)
        return replace(step, **changes)

    def loop_of(loop: LoopStep, path: tuple) -> LoopStep:
        o = observed.loops.get(loop.name)
        inner = steps_of(loop.steps, (*path, "steps"))
        if o is None:
            return replace(loop, steps=inner)
        settings = loop.loop
        capped = f"; {o.cap_hit_rate:.1%} of tasks stop at max_steps {settings.max_steps}" if o.cap_hit_rate else ""
        iterations = fit.number((*path, "loop", "iterations"), settings.iterations,
                                _fit_capped(o.iterations, o.cap_hit_rate, settings.max_steps),
                                _observed(o.iterations) + capped, o.iterations.n,
                                "p90 from how often tasks reach the cap" if (o.cap_hit_rate or 0) >= 0.1 else "")
        growth = fit.number((*path, "loop", "context_growth_tokens"), settings.context_growth_tokens,
                            fit_distribution(o.context_growth_tokens), _observed(o.context_growth_tokens),
                            o.context_growth_tokens.n)
        return replace(loop, loop=replace(settings, iterations=iterations, context_growth_tokens=growth), steps=inner)

    steps = steps_of(workflow.steps, ("steps",))
    volume = workflow.volume
    months = list(observed.months.items())
    if months:
        last, n = months[-1]
        tasks = fit.number(("volume", "tasks_per_month"), volume.tasks_per_month, Fixed(float(n)) if n else None,
                           f"{n:,} tasks in {last}", n, "the last month's tasks; a part month counts as it is")
        growth = volume.monthly_growth
        if len(months) > 1 and months[-2][1]:
            ratio = n / months[-2][1] - 1
            growth = fit.number(("volume", "monthly_growth"), growth, Fixed(round(ratio, 4)),
                                f"{ratio:+.4f} ({months[-2][0]} to {last})", n)
        volume = replace(volume, tasks_per_month=tasks, monthly_growth=growth)
    if volume.background:
        notes.append("volume.background: background calls carry no task: kept as designed")
    outcome = workflow.outcome
    outcome = replace(outcome, success_rate=fit.rate(("outcome", "success_rate"), outcome.success_rate,
                                                    observed.success_rate, observed.outcomes))
    if outcome.human_cost_usd_per_task is not None:
        notes.append("outcome.human_cost_usd_per_task: not in the logs: kept as designed")
    notes += [f"{name}: {calls:,} logged calls under a step the spec does not have"
              for name, calls in observed.logged_steps_not_in_spec]
    notes += list(observed.model_changes)
    if observed.untagged_calls:
        notes.append(f"{observed.untagged_calls:,} calls of {workflow.name} carry no task_id or step: not counted")
    calibrated = replace(workflow, steps=steps, volume=volume, outcome=outcome)
    return calibrated, fit.records, notes


def _loops(steps):
    return [s for s in steps if isinstance(s, LoopStep)]


def _first_model(loop: LoopStep) -> ModelStep | None:
    return next((s for s in loop.steps if isinstance(s, ModelStep)), None)


# ---------------------------------------------------------------- YAML with comments


def _scalar(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _emit(value, indent: int, path: tuple, comments: dict[tuple, str], lines: list[str], first: str = "") -> None:
    """Block YAML of a spec document, a `# comment` after each line whose path has one."""
    pad = " " * indent
    for j, (key, item) in enumerate(value.items()):
        lead = first if j == 0 and first else pad
        here = (*path, key)
        note = f"  # {comments[here]}" if here in comments else ""
        if isinstance(item, dict) and not isinstance(item, Flow) and item:
            lines.append(f"{lead}{key}:{note}")
            _emit(item, indent + 2, here, comments, lines)
        elif isinstance(item, list) and item and all(isinstance(x, dict) and not isinstance(x, Flow) for x in item):
            lines.append(f"{lead}{key}:{note}")
            for i, entry in enumerate(item):
                _emit(entry, indent + 4, (*here, i), comments, lines, first=" " * (indent + 2) + "- ")
        else:
            shown = _scalar(dict(item) if isinstance(item, Flow) else item)
            lines.append(f"{lead}{key}: {shown}{note}")


def spec_text(workflow: Workflow, records: list[Fitted], header: list[str]) -> str:
    """The calibrated spec as YAML: `header` lines on top, each fitted number commented."""
    comments = {r.path: (f"designed {r.designed}; observed {r.observed}; n {r.n:,}"
                         + ("" if r.used else "; kept as designed") + (f" ({r.note})" if r.note else ""))
                for r in records}
    lines = [f"# {h}" for h in header]
    _emit(workflow_data(workflow), 0, (), comments, lines)
    return "\n".join(lines) + "\n"

