from datetime import UTC, date, datetime

import genai_prices
import pytest
from genai_prices import Usage

from forecast.core.errors import PriceError, SpecError
from forecast.design.prices import PriceBook
from forecast.design.workload import cost_usd

from .conftest import DAY

BOOK = PriceBook()


def _band_for(prices, input_tokens):
    band = prices.bands[0]
    for b in prices.bands[1:]:
        if input_tokens > b.above_input_tokens:
            band = b
    return band


@pytest.mark.parametrize(
    ("model", "provider", "on", "uncached", "cached", "written", "output"),
    [
        ("gpt-4o", "openai", DAY, 12_000, 3_000, 0, 800),
        ("gpt-4o-mini", None, DAY, 1_000, 0, 0, 100),
        ("claude-sonnet-4-5", "anthropic", DAY, 5_000, 20_000, 1_000, 700),
        ("claude-sonnet-4-5", "anthropic", DAY, 180_000, 40_000, 5_000, 2_000),  # > 200k: long-context tier
        ("gemini-2.5-pro", "google", DAY, 150_000, 60_000, 0, 3_000),  # > 200k tier
        ("claude-opus-4-6", "anthropic", date(2026, 2, 1), 150_000, 60_000, 0, 3_000),  # old row: tiered
        ("claude-opus-4-6", "anthropic", date(2026, 4, 1), 150_000, 60_000, 0, 3_000),  # new row: flat
    ],
)
def test_cost_matches_genai_prices_calc_price(model, provider, on, uncached, cached, written, output):
    """Independent source: genai-prices' own calculator for the same usage and timestamp."""
    prices = BOOK.lookup(model, provider, on)
    total_input = uncached + cached + written
    ours = cost_usd(uncached, cached, written, output, _band_for(prices, total_input))
    usage = Usage(input_tokens=total_input, cache_read_tokens=cached, cache_write_tokens=written,
                  output_tokens=output)
    theirs = genai_prices.calc_price(usage, model, provider_id=provider,
                                     genai_request_timestamp=datetime(on.year, on.month, on.day, 12, tzinfo=UTC))
    assert ours == pytest.approx(float(theirs.total_price), rel=1e-12)


def test_dated_rows_are_chosen_by_date():
    before = BOOK.lookup("claude-opus-4-6", "anthropic", date(2026, 3, 12))
    after = BOOK.lookup("claude-opus-4-6", "anthropic", date(2026, 3, 13))
    assert len(before.bands) == 2 and len(after.bands) == 1
    assert "from 2026-03-13" in after.source


def test_prices_by_hand_from_genai_prices_row():
    p = BOOK.lookup("gpt-4o", "openai", DAY)
    # genai-prices row for gpt-4o: $2.50 input, $1.25 cached read, $10 output; no cache-write premium.
    assert (p.base.input_usd_per_mtok, p.base.cached_input_usd_per_mtok, p.base.cache_write_usd_per_mtok,
            p.base.output_usd_per_mtok) == (2.5, 1.25, 2.5, 10.0)
    assert p.source.startswith(f"genai-prices {genai_prices.__version__}: openai/gpt-4o")


def test_batch_from_database_variant_and_from_override_discount(book):
    gpt5 = book.lookup("gpt-5", "openai", DAY, batch=True)
    assert gpt5.batch and gpt5.base.input_usd_per_mtok == 0.625  # genai-prices batch variant
    lab = book.lookup("m-big", "lab", DAY, batch=True)
    assert lab.base.input_usd_per_mtok == 1.0 and lab.base.output_usd_per_mtok == 5.0  # 50% of 2 and 10


def test_batch_without_any_known_price_is_an_error():
    with pytest.raises(PriceError, match="no batch price for deepseek/deepseek-chat"):
        PriceBook().lookup("deepseek-chat", "deepseek", DAY, batch=True)


def test_override_rows_and_dated_change(book):
    now = book.lookup("m-big", "lab", DAY)
    assert (now.base.input_usd_per_mtok, now.base.cached_input_usd_per_mtok, now.base.cache_write_usd_per_mtok,
            now.base.output_usd_per_mtok) == (2, 0.5, 2.5, 10)
    later = book.lookup("m-big", "lab", date(2027, 1, 1))
    assert (later.base.input_usd_per_mtok, later.base.cached_input_usd_per_mtok,
            later.base.output_usd_per_mtok) == (1, 1, 5)  # cached defaults to the input price
    assert "from 2027-01-01" in later.source and "test price cut" in later.source


def test_discounts_model_beats_provider_and_dates(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("""
discounts:
  - {provider: openai, discount: 0.1, source: MSA}
  - {provider: openai, model: gpt-4o, discount: 0.2, source: model deal, effective_from: 2026-06-01,
     effective_until: 2026-12-31}
""")
    b = PriceBook.from_file(path)
    assert b.lookup("gpt-4o", "openai", DAY).base.input_usd_per_mtok == pytest.approx(2.5 * 0.8)
    assert b.lookup("gpt-4o", "openai", date(2027, 1, 1)).base.input_usd_per_mtok == pytest.approx(2.5 * 0.9)
    assert b.lookup("gpt-4o-mini", "openai", DAY).base.output_usd_per_mtok == pytest.approx(0.6 * 0.9)
    assert "discount 20% (model deal)" in b.lookup("gpt-4o", "openai", DAY).notes


def test_future_change_to_public_model_applies_only_from_its_date(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("prices:\n  - {provider: openai, model: gpt-4o, input_usd_per_mtok: 1, output_usd_per_mtok: 4,"
                    " effective_from: 2027-02-01, source: expected cut}\n")
    b = PriceBook.from_file(path)
    assert b.lookup("gpt-4o", "openai", DAY).base.input_usd_per_mtok == 2.5
    assert b.lookup("gpt-4o", "openai", date(2027, 2, 1)).base.input_usd_per_mtok == 1


def test_unknown_model_names_closest_and_is_never_zero():
    with pytest.raises(PriceError) as err:
        BOOK.lookup("claude-sonet-4-5", "anthropic", DAY)
    assert "unknown model 'claude-sonet-4-5'" in str(err.value)
    assert "anthropic/claude-sonnet-4-5" in str(err.value)


def test_unknown_provider_names_closest():
    with pytest.raises(PriceError, match="unknown provider 'opnai': closest known: openai"):
        BOOK.lookup("gpt-4o", "opnai", DAY)


def test_private_model_before_its_first_row_is_an_error(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("prices:\n  - {provider: me, model: mine, input_usd_per_mtok: 1, output_usd_per_mtok: 1,"
                    " effective_from: 2027-01-01, source: plan}\n")
    with pytest.raises(PriceError, match="only from 2027-01-01"):
        PriceBook.from_file(path).lookup("mine", None, DAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prices:\n  - {provider: a, model: b, input_usd_per_mtok: -1, output_usd_per_mtok: 1, source: xyz}",
         "o.yaml: prices[0].input_usd_per_mtok: -1: Input should be greater than or equal to 0"),
        ("discounts:\n  - {provider: a, discount: 1.5, source: xyz}",
         "o.yaml: discounts[0].discount: 1.5: Input should be less than 1"),
        ("batch_discounts:\n  - {provider: a, discount: 0.5}",
         "o.yaml: batch_discounts[0].source: missing: this field is required"),
        ("discount:\n  - {provider: a}", "o.yaml: discount: unknown field (check the spelling)"),
        ("discounts:\n  - {provider: a, discount: 0.1, source: xyz, effective_from: 2027-01-01,"
         " effective_until: 2026-01-01}",
         "o.yaml: discounts[0].effective_until: 2026-01-01: must not be before effective_from 2027-01-01"),
    ],
)
def test_override_file_errors_are_one_line(tmp_path, text, expected):
    path = tmp_path / "o.yaml"
    path.write_text(text)
    with pytest.raises((SpecError, PriceError)) as err:
        PriceBook.from_file(path)
    assert err.value.problems == [f"{path.parent}/{expected}"]


def test_shipped_overrides_file_is_valid_and_sourced():
    from .conftest import ROOT

    b = PriceBook.from_file(ROOT / "data/prices/overrides.yaml")
    assert {d.provider for d in b.overrides.batch_discounts} >= {"openai", "anthropic", "google"}
    assert all("checked 20" in d.source for d in b.overrides.batch_discounts)


@pytest.mark.parametrize(
    ("model", "peak_hour", "off_hour", "peak_hours"),
    [
        ("deepseek-chat", 8, 20, 16),  # peak 00:30-16:30 UTC
        ("deepseek-reasoner", 1, 17, 16),
        ("deepseek-v4-pro", 2, 12, 3 + 4),  # peak 01:00-04:00 and 06:00-10:00 UTC
    ],
)
def test_time_of_day_prices_are_an_hour_weighted_average(model, peak_hour, off_hour, peak_hours):
    """genai-prices' calculator at a peak and an off-peak hour, weighted by the hours each price applies."""
    usage = Usage(input_tokens=12_000, cache_read_tokens=4_000, output_tokens=900)

    def at(hour: int) -> float:
        when = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=UTC)
        return float(genai_prices.calc_price(usage, model, provider_id="deepseek",
                                             genai_request_timestamp=when).total_price)

    assert at(peak_hour) > 1.5 * at(off_hour)  # the two prices really differ
    expected = (peak_hours * at(peak_hour) + (24 - peak_hours) * at(off_hour)) / 24
    prices = BOOK.lookup(model, "deepseek", DAY)
    assert cost_usd(8_000, 4_000, 0, 900, prices.base) == pytest.approx(expected, rel=1e-12)
    assert any("hour-weighted average over the UTC day" in n for n in prices.notes)


def test_model_without_provider_suggests_exact_names_first():
    with pytest.raises(PriceError) as err:
        BOOK.lookup("llama-3.3-70b", None, DAY)
    message = str(err.value)
    assert message.startswith("unknown model 'llama-3.3-70b' without a provider: known as cerebras/llama-3.3-70b")
    assert message.index("cerebras/llama-3.3-70b") < message.index("closest known")
    with pytest.raises(PriceError, match="closest known: openai/gpt-4o-mini,"):  # the provider that owns the name
        BOOK.lookup("gpt-4o-mni", None, DAY)


def test_unknown_provider_hint_names_no_missing_command():
    with pytest.raises(PriceError) as err:
        BOOK.lookup("gpt-4o", "zzzzzz", DAY)
    assert str(err.value) == ("unknown provider 'zzzzzz': no close match among genai-prices' providers; a private or "
                              "self-hosted model needs a row in the price overrides file")
