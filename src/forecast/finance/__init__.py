"""Business cases: TCO and ROI over a horizon (cash flows, NPV, IRR, payback, sensitivity, scenarios).

Modules: case (YAML boundary), economics (workflow specs -> drivers via the workload engine),
cashflows (monthly lines), metrics (NPV, IRR, payback, ROI), sensitivity (tornado, Monte Carlo,
break-even volume), scenarios (named variants), report (the evaluated case and its JSON document)."""
