from datetime import date
from pathlib import Path

import pytest

from forecast.design.prices import PriceBook

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 25)

# Round-number private prices so tests can be checked on paper (USD per million tokens).
OVERRIDES = """
prices:
  - {provider: lab, model: m-small, input_usd_per_mtok: 1, output_usd_per_mtok: 2, source: test prices}
  - provider: lab
    model: m-big
    input_usd_per_mtok: 2
    cached_input_usd_per_mtok: 0.5
    cache_write_usd_per_mtok: 2.5
    output_usd_per_mtok: 10
    source: test prices
  - {provider: lab, model: m-big, input_usd_per_mtok: 1, output_usd_per_mtok: 5, effective_from: 2027-01-01,
     source: test price cut}
batch_discounts:
  - {provider: lab, discount: 0.5, source: test batch}
"""


@pytest.fixture
def book(tmp_path) -> PriceBook:
    path = tmp_path / "overrides.yaml"
    path.write_text(OVERRIDES)
    return PriceBook.from_file(path)


@pytest.fixture
def examples() -> list[Path]:
    return sorted((ROOT / "data" / "workflows").glob("*.yaml"))
