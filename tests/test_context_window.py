"""Context windows: a sourced table, and an estimate warning when a call's input passes its model's window."""

import csv
import re
from datetime import date

from forecast.core.resources import packaged
from forecast.design.context import context_window
from forecast.design.estimate import estimate
from forecast.design.prices import PriceBook
from forecast.design.specs import parse_workflow

DAY = date(2026, 11, 25)


def _loop_spec(growth: str, max_steps: int = 1000, model: str = "gpt-4o-mini", provider: str = "openai"):
    return parse_workflow(f"""
name: runaway
volume: {{tasks_per_month: 100}}
steps:
  - name: agent
    loop: {{iterations: {max_steps}, max_steps: {max_steps}, context_growth_tokens: {growth}}}
    steps:
      - {{name: turn, model: {model}, provider: {provider}, input_tokens: {{system: 2000, user: 500}},
         output_tokens: 300}}
""")


GPT_4O_MINI_WINDOW = 128_000  # OpenAI's model page for gpt-4o-mini: "128,000 context window" (2026-12-01)


def test_loop_reaching_1e9_tokens_warns():
    # 1000 iterations, each adding 1,000,000 tokens of history: the last call sends ~1e9 input tokens
    result = estimate(_loop_spec("1000000"), PriceBook(), DAY, samples=200, scenarios=20, months=1)
    window = GPT_4O_MINI_WINDOW
    (warning,) = [w for w in result.warnings if "context window" in w]
    assert "'turn'" in warning and "openai/gpt-4o-mini" in warning and f"{window:,} tokens" in warning
    assert "999,002,500" in warning  # 2,500 + 999 x 1,000,000 input tokens on the 1,000th iteration
    # the same loop on a model with a 1M window (the sourced table): warned against that window
    result = estimate(_loop_spec("1000000", model="claude-sonnet-4-5", provider="anthropic"), PriceBook(), DAY,
                      samples=200, scenarios=20, months=1)
    (warning,) = [w for w in result.warnings if "context window" in w]
    assert "window of 1,000,000 tokens" in warning and "support.claude.com" in warning


def test_loop_within_the_window_does_not_warn():
    result = estimate(_loop_spec("100", max_steps=10), PriceBook(), DAY, samples=200, scenarios=20, months=1)
    assert not [w for w in result.warnings if "context window" in w]


def test_p90_below_but_max_above_the_window_warns_with_both():
    # iterations: median 3, P90 5, rarely up to the cap of 400: P90 well inside 200k, the capped maximum beyond it
    wf = parse_workflow("""
name: tail
volume: {tasks_per_month: 100}
steps:
  - name: agent
    loop: {iterations: {lognormal: {p50: 3, p90: 5}}, max_steps: 400, context_growth_tokens: 1000}
    steps:
      - {name: turn, model: gpt-4o-mini, provider: openai, input_tokens: {user: 500}, output_tokens: 10}
""")
    (warning,) = [w for w in estimate(wf, PriceBook(), DAY, samples=200, scenarios=20, months=1).warnings
                  if "context window" in w]
    assert "at most 399,500" in warning and "P90" in warning


def test_window_from_genai_prices_and_from_the_sourced_table():
    tokens, source = context_window("openai", "gpt-4o-mini")
    assert tokens == GPT_4O_MINI_WINDOW and "genai-prices" in source
    # genai-prices lists 200,000 (the standard window); Anthropic's support page documents 1M
    assert context_window("anthropic", "claude-sonnet-4-5")[0] == 1_000_000
    tokens, source = context_window("google", "gemini-2.5-pro")  # genai-prices lists none for it
    assert tokens == 1_048_576 and "docs.cloud.google.com" in source and "2026-12-01" in source
    assert context_window("self-hosted", "llama-3.3-70b-vllm") is None  # unknown: no warning, no guess


def test_context_table_is_sourced_and_packaged():
    path = packaged("data", "prices", "context_windows.csv")
    rows = list(csv.DictReader(line for line in path.open() if not line.startswith("#")))
    assert rows
    for row in rows:
        assert set(row) == {"provider", "model", "context_tokens", "source", "retrieved"}
        assert int(row["context_tokens"]) > 0 and row["source"].startswith("https://")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["retrieved"])
