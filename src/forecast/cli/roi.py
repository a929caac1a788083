"""The `forecast roi` subcommand: a business case's NPV, IRR, payback, sensitivity and scenarios."""

from __future__ import annotations

from ..core.formatting import field_label, to_json, usd
from ..core.formatting import number as quantity
from .argtypes import number, whole
from .options import add_prices_option, price_book
from .tables import table

COMMANDS = ("roi",)
_fraction = number(lambda v: 0 < v < 1, "must be a fraction between 0 and 1 (0.2 = +/-20%)")
_count = whole(0, 200_000)


def add_parsers(sub) -> None:
    """Register `roi` on an argparse subparsers object."""
    p = sub.add_parser("roi", help="NPV, IRR, payback, ROI and sensitivity of a business case")
    p.add_argument("case", metavar="CASE.yaml")
    p.add_argument("--scenario", action="append", default=None, metavar="NAME",
                   help="scenario to evaluate (repeat to compare against the first; 'all' for every one; "
                        "default: base, the case as written)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--samples", type=_count, default=2_000, help="Monte Carlo scenarios (default 2000; 0 skips)")
    p.add_argument("--seed", type=_count, default=0, help="random seed (default 0)")
    p.add_argument("--tornado", metavar="CHANGE", type=_fraction, default=0.2,
                   help="tornado change per driver (default 0.2)")
    p.add_argument("--monthly", action="store_true", help="table: print every month, not yearly totals")
    add_prices_option(p)


def _months(m) -> str:
    return "never" if m is None else f"month {m}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def result_table(evaluation, result: dict, case: dict, monthly: bool = False) -> list[str]:
    s = result["summary"]
    lines = [f"scenario {result['scenario']}: " + " ".join(result["description"].split()), ""]
    be = s["break_even"]
    be_text = "never (loses money at any volume)" if be["volume_factor"] is None else ", ".join(
        f"{w} {v:,.0f} tasks/month ({be['volume_factor']:.0%} of planned)" for w, v in be["tasks_per_month"].items())
    rows = [["NPV", f"{usd(s['npv_usd'])} USD at {case['discount_rate_annual']:.0%} a year"],
            ["IRR", "n/a" if s["irr_annual"] is None else f"{s['irr_annual']:.1%} a year"],
            ["payback", f"{_months(s['payback_month'])} (discounted: {_months(s['discounted_payback_month'])})"],
            ["ROI", f"{_pct(s['roi'])} (benefits {usd(s['total_benefit_usd'])} / costs "
                    f"{usd(s['total_cost_usd'])} USD, before tax)"],
            ["cost per successful outcome", f"{usd(s['cost_per_successful_outcome_usd'])} USD all-in over the "
             f"horizon, {usd(s['run_rate_cost_per_successful_outcome_usd'])} USD in the last month"],
            ["human cost per outcome", f"{usd(s['human_cost_per_outcome_usd'])} USD"
             + (f" (AI is {s['ai_to_human_cost_ratio']:.0%} of it)" if s.get("ai_to_human_cost_ratio") else "")],
            ["break-even volume", be_text]]
    mc = result["monte_carlo"]
    if mc:
        n, p = mc["npv_usd"], mc["payback_month"]
        rows.append(["P(NPV > 0)", f"{mc['p_npv_positive']:.1%} of {mc['scenarios']:,} scenarios (seed {mc['seed']})"])
        rows.append(["NPV P10 / P50 / P90", f"{usd(n['p10'])} / {usd(n['p50'])} / {usd(n['p90'])} USD"])
        rows.append(["payback P10 / P50 / P90", " / ".join("past horizon" if p[k] is None else f"month {p[k]:.0f}"
                                                          for k in ("p10", "p50", "p90"))])
    lines += table(["", ""], rows, left=2)[1:]
    for wf in result["workflows"]:
        if wf["serving"] != "api":
            f = wf["serving"]["self_hosted"]
            lines += [f"{wf['name']}: self-hosted {f['model']} ({f['precision']}) on {f['gpu_count']:.0f} x {f['gpu']} "
                      f"({f['replicas']:.0f} replica(s) of {f['gpus_per_replica']}) in its busiest month: "
                      f"{usd(f['monthly_usd'])} USD/month, {f['utilisation']:.0%} utilised, "
                      f"{usd(f['usd_per_mtok'])} USD per million tokens",
                      f"  GPU price {f['gpu_usd_per_hour']:.2f} USD/GPU-hour {f['pricing']}: {f['gpu_price_source']}"]
    flows = evaluation.cash_flow_frame(result["scenario"], monthly)
    lines += ["", "Cash flows (USD; - cost, + benefit)",
              *table(["USD", *flows.columns], [[label, *(usd(v) for v in row)] for label, row in flows.iterrows()])]
    t = result["tornado"]
    lines += ["", f"Tornado: NPV with each driver at -/+{t['change']:.0%} (top 8 by swing)"]
    lines += table(["driver", "value", "NPV low", "NPV high", "swing"],
                    [[field_label(r["driver"]), quantity(r["value"]), usd(r["npv_low_usd"]), usd(r["npv_high_usd"]),
                      usd(r["swing_usd"])] for r in t["rows"][:8]])
    lines += [f"warning: {w}" for w in result["warnings"]]
    return lines


def comparison_table(doc: dict) -> list[str]:
    first = doc["results"][0]["scenario"]
    rows = []
    for r in doc["results"]:
        s = r["summary"]
        d = next((c for c in doc["comparison"] if c["b"] == r["scenario"]), None)
        rows.append([r["scenario"], usd(s["npv_usd"]), _months(s["payback_month"]),
                     usd(s["cost_per_successful_outcome_usd"]),
                     "" if d is None else usd(d["npv_usd_b_minus_a"]),
                     "" if d is None or d["payback_month_b_minus_a"] is None else f"{d['payback_month_b_minus_a']:+d}"])
    return ["Scenarios side by side", *table(["scenario", "NPV USD", "payback", "USD/outcome",
                                               f"NPV - {first}", "payback months"], rows)]


def roi_table(evaluation, monthly: bool = False) -> str:
    doc = evaluation.to_dict()
    case = doc["case"]
    lines = [f"{case['name']}: business case over {case['horizon_months']} months from {case['start_month']} "
             f"(build {case['build_months']} months; prices of {case['price_date']}; {case['currency']})", ""]
    if len(doc["results"]) > 1:
        lines += [*comparison_table(doc), ""]
    for result in doc["results"]:
        lines += [*result_table(evaluation, result, case, monthly), ""]
    return "\n".join(lines)


def run(args) -> tuple[str, int]:
    """Evaluate the case and print it as a table or the JSON document."""
    from ..finance.report import evaluate_case

    evaluation = evaluate_case(args.case, price_book(args), args.scenario, args.samples, args.seed, args.tornado)
    return (to_json(evaluation.to_dict()) + "\n" if args.format == "json" else roi_table(evaluation, args.monthly)), 0
