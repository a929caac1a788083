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
Z90 = 1.2815515655446004  # the 90th percentile of the standard normal
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
    """Fixed when the p10-p90 spread is within 2% of the p50 (or when zeros are common, at the mean), else
    lognormal by the observed p50 and p90, or by the p50 and the mean when the p90 would not keep the mean
    within 10%; the spread stays within the spec's p90 <= 100 x p50. None when too few observations.

    >>> fit_distribution(Summary(100, 99.0, 100.0, 101.0, 100.0))
    Fixed(value=100.0)
    >>> fit_distribution(Summary(100, 60.0, 120.0, 400.0, 170.0))
    LogNormal(p50=120.0, p90=400.0)
    >>> fit_distribution(Summary(100, 0.0, 0.0, 1.0, 0.3))  # a step most tasks skip: its mean
    Fixed(value=0.3)
    >>> fit_distribution(Summary(100, 2.0, 8.0, 1200.0, 300.0))  # p50 and mean, not p50 and p90
    LogNormal(p50=8.0, p90=252.0)
    >>> fit_distribution(Summary(5, 60.0, 120.0, 400.0, 170.0)) is None
    True
    """
    import math

    if s.n < MIN_N or s.p50 is None:
        return None
    if s.p10 <= 0 or s.p50 < 1:  # zeros or fractions common: only the mean is worth keeping
        return Fixed(_round(s.mean))
    p50 = float(round(s.p50)) if whole else _round(s.p50)
    if s.p90 - s.p10 <= SPREAD * max(abs(s.p50), 1.0) or s.p90 <= s.p50:
        return Fixed(p50)
    sigma = math.log(s.p90 / s.p50) / Z90
    if abs(s.p50 * math.exp(sigma ** 2 / 2) / s.mean - 1) > 0.1 and s.mean > s.p50:  # the p90 misses the mean
        sigma = math.sqrt(2 * math.log(s.mean / s.p50))
    p90 = min(s.p50 * math.exp(Z90 * sigma), 100 * s.p50)
    return LogNormal(p50=p50, p90=float(round(p90)) if whole and p90 >= 10 else _round(p90))


def _fit_capped(s: Summary, cap_hit_rate: float | None, cap: int):
    """Loop iterations as the lognormal whose counts, rounded and capped as the engine counts them
    (distributions.rounded_pmf), have the logged mean and the logged share of tasks at the cap; fit_distribution
    for a fixed count.

    >>> from forecast.design.distributions import rounded_pmf
    >>> fitted = _fit_capped(Summary(1000, 3.0, 6.0, 8.0, 5.98), 0.21, 8)
    >>> pmf = rounded_pmf(fitted, 8)
    >>> round(float(sum(k * p for k, p in enumerate(pmf))), 2), round(float(pmf[-1]), 2)
    (5.98, 0.21)
    """
    import math

    import numpy as np
    from scipy.optimize import minimize

    from ..design.distributions import rounded_pmf

    basic = fit_distribution(s, whole=False)
    if basic is None or isinstance(basic, Fixed) or s.mean is None or s.mean <= 0:
        return basic
    h = cap_hit_rate or 0.0
    ks = np.arange(cap + 1)

    def loss(x):
        dist = LogNormal(p50=float(math.exp(x[0])), p90=float(math.exp(x[0] + math.exp(x[1]))))
        pmf = rounded_pmf(dist, cap)
        return ((ks * pmf).sum() / s.mean - 1) ** 2 + (pmf[-1] - h) ** 2 + 1e-4 * (x[0] - math.log(s.p50)) ** 2

    start = [math.log(max(s.p50, 0.5)), math.log(max(math.log(max(s.p90, s.p50 + 1) / max(s.p50, 0.5)), 0.05))]
    best = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-10, "maxiter": 400}).x
    p50 = math.exp(best[0])
    return LogNormal(p50=_round(p50), p90=_round(min(math.exp(best[0] + math.exp(best[1])), 100 * p50)))


def _observed(s: Summary) -> str:
    if s.p50 is None:
        return "none logged"
    return f"p10 {number(s.p10)}, p50 {number(s.p50)}, p90 {number(s.p90)}, mean {number(s.mean)}"


class _Fitter:
    def __init__(self, workflow: str):
        self.records: list[Fitted] = []
        self.workflow = workflow
        self.subject = workflow  # what the numbers being fitted belong to, named in a thin-data note

    def number(self, path: tuple, designed, fitted, observed: str, n: int, note: str = ""):
        """The number to use at `path`: the fitted one when there is one, else the designed one (recorded)."""
        used = fitted is not None and n >= MIN_N
        thin = f"{self.subject}: fewer than {MIN_N} observations ({n}): kept as designed"
        why = note if used else "; ".join(x for x in (thin, note) if x)
        value = float(fitted.ppf(0.5)) if fitted is not None else None
        self.records.append(Fitted(path, _shown(designed), observed, n, used, why, value))
        return fitted if used else designed

    def rate(self, path: tuple, designed, rate: float | None, n: int):
        fitted = Fixed(round(rate, 4)) if rate is not None and n >= MIN_N else None
        return self.number(path, designed, fitted, "none logged" if rate is None else f"{rate:.4f}", n)


def _scaled(dist, target_mean: float):
    """`dist` scaled so its mean is `target_mean` (its shape kept); Fixed for a fixed design."""
    mean = dist.mean()
    if isinstance(dist, Fixed) or mean <= 0:
        return Fixed(float(round(max(target_mean, 0.0))))
    k = max(target_mean, 0.0) / mean
    if isinstance(dist, LogNormal):
        return LogNormal(p50=_round(dist.p50 * k), p90=_round(dist.p90 * k))
    return replace(dist, low=_round(dist.low * k), mode=_round(dist.mode * k), high=_round(dist.high * k))


def _input_tokens(fit: _Fitter, path: tuple, step: ModelStep, fed: tuple[float, bool], s: Summary):
    """The varying input part refitted so the whole input matches the logs. When every other part is fixed and
    no tool result feeds the call, its whole distribution is the logged one less the fixed parts; else its
    designed shape is scaled to the logged mean less the other parts' and the tools' means."""
    parts = step.input_tokens
    free = next((p for p in ("user", "context", "system") if not isinstance(getattr(parts, p), Fixed)), "user")
    others = [getattr(parts, p) for p in INPUT_PARTS if p != free]
    fed_mean, fed_varies = fed
    other = sum(d.mean() for d in others) + fed_mean
    shifted = Summary(s.n, *(None if v is None else max(v - other, 0.0) for v in (s.p10, s.p50, s.p90, s.mean)))
    designed = getattr(parts, free)
    exact = all(isinstance(d, Fixed) for d in others) and not fed_varies and not isinstance(designed, Fixed)
    if shifted.n < MIN_N or shifted.mean is None:
        fitted = None
    elif exact:
        fitted = fit_distribution(shifted)
    else:
        fitted = _scaled(designed, shifted.mean)
    how = "its distribution" if exact else "its designed shape scaled to the mean"
    note = (f"the logs show the whole input ({_observed(s)}); {free} takes it less the other parts and the "
            f"tools' results, {number(other)}: {how}")
    value = fit.number((*path, "input_tokens", free), designed, fitted, _observed(shifted), s.n, note)
    return replace(parts, **{free: value})


def _routing(fit: _Fitter, path: tuple, step: ModelStep, shares: dict, n: int, switched: str | None):
    total = sum(shares.values()) or 1.0
    main = next((key for key in shares if key[1] == step.model and (step.provider in (None, key[0]))), None)
    others = {key: share / total for key, share in shares.items() if key != main}
    designed = ", ".join([step.model] + [f"{r.model} {r.share:g}" for r in step.routing])
    observed = ", ".join(f"{p + '/' if p else ''}{m} {v / total:.3f}" for (p, m), v in shares.items())
    rounded = {key: round(v, 4) for key, v in others.items() if round(v, 4) > 0}
    over = sum(rounded.values()) - 1.0
    if over > 0:  # rounding up past 1: the largest share gives it back
        top = max(rounded, key=rounded.get)
        rounded[top] = round(rounded[top] - over, 4)
    routes = tuple(Route(model=m, share=v, provider=p) for (p, m), v in rounded.items() if v > 0)
    used = n >= MIN_N and switched is None
    why = switched or ("" if used else f"{fit.subject}: fewer than {MIN_N} tasks ({n}): kept as designed")
    fit.records.append(Fitted((*path, "routing"), designed, observed, n, used, why))
    return routes if used else step.routing


def calibrate(workflow: Workflow, observed: Observed) -> tuple[Workflow, list[Fitted], list[str]]:
    """The calibrated workflow, the fitted numbers, and the notes on what the logs could not show."""
    fit, notes = _Fitter(workflow.name), []

    def steps_of(steps, path: tuple, pending: list):
        """Calibrated `steps`, and the tools whose results no model step has taken yet (as compile_plan walks)."""
        out = []
        for i, step in enumerate(steps):
            where = (*path, i)
            if isinstance(step, LoopStep):
                loop, pending = loop_of(step, where, pending)
                out.append(loop)
            elif isinstance(step, ToolStep):
                notes.append(f"{step.name}: tool calls, result tokens and fees are not in the logs: kept as designed")
                if step.result_tokens_per_call != Fixed(0.0):
                    pending = [*pending, step]
                out.append(step)
            else:
                fed_mean = sum(t.calls_per_run.mean() * t.result_tokens_per_call.mean() for t in pending)
                fed_varies = any(not isinstance(t.calls_per_run, Fixed) or not isinstance(t.result_tokens_per_call,
                                                                                          Fixed) for t in pending)
                out.append(model_step(step, where, (fed_mean, fed_varies)))
                pending = []
        return tuple(out), pending

    def model_step(step: ModelStep, path: tuple, fed: tuple[float, bool]) -> ModelStep:
        fit.subject = f"workflow {workflow.name}, step {step.name}"
        o = observed.steps.get(step.name)
        if o is None:
            notes.append(f"{step.name}: no logged call (step tag {step.name!r}): every number kept as designed")
            return step
        in_loop = any(step is s for loop in _loops(workflow.steps) for s in loop.steps)
        first_in_loop = any(step is _first_model(loop) for loop in _loops(workflow.steps))
        changes = {
            "input_tokens": _input_tokens(fit, path, step, fed, o.input_tokens_first),
            "output_tokens": fit.number((*path, "output_tokens"), step.output_tokens,
                                        fit_distribution(o.output_tokens), _observed(o.output_tokens),
                                        o.output_tokens.n),
            "cache_hit_rate": fit.rate((*path, "cache_hit_rate"), step.cache_hit_rate, o.cache_hit_rate, o.attempts),
            "retry_rate": fit.rate((*path, "retry_rate"), step.retry_rate, o.retry_rate, o.calls),
            "routing": _routing(fit, path, step, o.model_shares, o.tasks, switched.get(step.name)),
        }
        if first_in_loop:
            notes.append(f"{step.name}: calls per run kept as designed (the loop's iterations are counted by them)")
        else:
            changes["calls_per_run"] = fit.number((*path, "calls_per_run"), step.calls_per_run,
                                                  fit_distribution(o.calls_per_run, whole=not in_loop),
                                                  _observed(o.calls_per_run), o.calls_per_run.n)
        return replace(step, **changes)

    def loop_of(loop: LoopStep, path: tuple, pending: list):
        o = observed.loops.get(loop.name)
        inner, pending = steps_of(loop.steps, (*path, "steps"), pending)
        if o is None:
            if not any(isinstance(s, ModelStep) for s in loop.steps):
                notes.append(f"{loop.name}: a loop without a model step logs nothing: its iterations are kept as "
                             "designed")
            return replace(loop, steps=inner), pending
        settings = loop.loop
        fit.subject = f"workflow {workflow.name}, loop {loop.name}"
        capped = f"; {o.cap_hit_rate:.1%} of tasks stop at max_steps {settings.max_steps}" if o.cap_hit_rate else ""
        iterations = fit.number((*path, "loop", "iterations"), settings.iterations,
                                _fit_capped(o.iterations, o.cap_hit_rate, settings.max_steps),
                                _observed(o.iterations) + capped, o.iterations.n,
                                "a lognormal whose rounded, capped counts have the logged mean and cap share")
        growth = fit.number((*path, "loop", "context_growth_tokens"), settings.context_growth_tokens,
                            fit_distribution(o.context_growth_tokens), _observed(o.context_growth_tokens),
                            o.context_growth_tokens.n)
        loop = replace(loop, loop=replace(settings, iterations=iterations, context_growth_tokens=growth), steps=inner)
        return loop, pending

    switched = dict(observed.model_changes)
    steps, _ = steps_of(workflow.steps, ("steps",), [])
    fit.subject = f"workflow {workflow.name}"
    volume = workflow.volume
    months = [(m, observed.months[m]) for m in observed.complete_months]
    if months:
        last, n = months[-1]
        tasks = fit.number(("volume", "tasks_per_month"), volume.tasks_per_month, Fixed(float(n)) if n else None,
                           f"{n:,} tasks in {last}", n, "the last month the logs cover from its first day to its last")
        growth = volume.monthly_growth
        if len(months) > 1 and months[-2][1]:
            ratio = min(max(n / months[-2][1] - 1, -0.99), 10.0)  # the spec's range for a monthly growth rate
            growth = fit.number(("volume", "monthly_growth"), growth, Fixed(round(ratio, 4)),
                                f"{ratio:+.4f} ({months[-2][0]} to {last})", n)
        volume = replace(volume, tasks_per_month=tasks, monthly_growth=growth)
    elif observed.months:
        notes.append(f"volume: no month is logged from its first day to its last ({', '.join(observed.months)}): "
                     "tasks per month and growth kept as designed")
    if volume.background:
        notes.append("volume.background: background calls carry no task: kept as designed")
    outcome = workflow.outcome
    outcome = replace(outcome, success_rate=fit.rate(("outcome", "success_rate"), outcome.success_rate,
                                                    observed.success_rate, observed.outcomes))
    if outcome.human_cost_usd_per_task is not None:
        notes.append("outcome.human_cost_usd_per_task: not in the logs: kept as designed")
    notes += [f"{name}: {calls:,} logged calls under a step the spec does not have"
              for name, calls in observed.logged_steps_not_in_spec]
    notes += [text for _, text in observed.model_changes]
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
    comments = {r.path: " ".join((f"designed {r.designed}; observed {r.observed}; n {r.n:,}"
                                  + ("" if r.used else "; kept as designed") + (f" ({r.note})" if r.note else ""))
                                 .split()) for r in records}
    lines = [f"# {' '.join(h.split())}" for h in header]
    _emit(workflow_data(workflow), 0, (), comments, lines)
    return "\n".join(lines) + "\n"

