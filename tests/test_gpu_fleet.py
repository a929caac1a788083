"""Fleet sizing and the self_hosted_cost contract (used by the TCO/ROI module)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.core.errors import ForecastError
from forecast.gpu.fleet import (
    SECONDS_PER_MONTH,
    autoscaled_monthly_usd,
    diurnal_shape,
    replicas_needed,
    self_hosted_cost,
)

WORKLOAD = {"input_tokens_per_request": 1000, "output_tokens_per_request": 300}


def test_replicas_needed_by_hand():
    # 5e9 tokens / 2,628,000 s = 1,902.59 tok/s average; x3 peak = 5,707.76; / (1,000 x 0.5) = 11.4 -> 12
    assert replicas_needed(5e9, 1000.0, 3.0, 0.5) == 12
    # exactly at capacity needs no extra replica: 2 x 1,000 x 0.5 tok/s for a month at peak ratio 1
    assert replicas_needed(1000.0 * SECONDS_PER_MONTH, 1000.0, 1.0, 0.5) == 2
    assert replicas_needed(0.0, 1000.0) == 1  # an always-on fleet keeps one replica


def test_h100_median_price_and_monthly_bill():
    # data/gpu/gpu_prices.csv, H100 on-demand per GPU-hour: 2.69, 2.99, 6.155, 6.88, 11.06, 12.29 -> median 6.5175
    cost = self_hosted_cost("llama-3.1-70b", "h100", tokens_per_month=5e9, precision="fp8", **WORKLOAD)
    assert cost.gpu_usd_per_hour == pytest.approx(6.5175)
    assert cost.monthly_usd == pytest.approx(cost.gpu_count * 6.5175 * 730)
    assert cost.gpu_count == cost.replicas * cost.gpus_per_replica
    assert cost.usd_per_mtok == pytest.approx(cost.monthly_usd / 5e3)
    capacity = cost.replicas * cost.tokens_per_s_per_replica * SECONDS_PER_MONTH
    assert cost.utilisation == pytest.approx(5e9 / capacity)
    assert cost.utilisation <= 0.7 / 2.0 + 1e-12  # peak 2x average runs at most at 70%


def test_provider_and_pricing_choice():
    # AWS g6.xlarge 1-year reserved effective hourly rate from the catalog: 0.507
    cost = self_hosted_cost("llama-3.1-8b", "l4", tokens_per_month=1e9, pricing="commit_1y", provider="aws",
                            **WORKLOAD)
    assert cost.gpu_usd_per_hour == 0.507
    assert "g6.xlarge" in cost.price_source
    with pytest.raises(ForecastError, match="no commit_1y price"):
        self_hosted_cost("llama-3.1-8b", "h200", tokens_per_month=1e9, pricing="commit_1y", **WORKLOAD)
    with pytest.raises(ForecastError, match="pricing 'reserved'"):
        self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=1e9, pricing="reserved", **WORKLOAD)


def test_arrays_broadcast():
    volume = np.array([[1e8, 1e9], [1e10, 1e11]])
    cost = self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=volume, **WORKLOAD)
    for name in ("replicas", "gpu_count", "monthly_usd", "usd_per_mtok", "utilisation"):
        assert np.shape(getattr(cost, name)) == (2, 2), name
    scalar = self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=1e10, **WORKLOAD)
    assert scalar.monthly_usd == cost.monthly_usd[1, 0]
    assert dataclasses.is_dataclass(cost)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cost.replicas = 3


def test_errors_name_the_closest_and_what_fits():
    with pytest.raises(ForecastError, match=r"closest known: llama-3\.1-70b"):
        self_hosted_cost("llama-3.1-70", "h100", tokens_per_month=1e9, **WORKLOAD)
    with pytest.raises(ForecastError, match="closest known: h100"):
        self_hosted_cost("llama-3.1-8b", "h10", tokens_per_month=1e9, **WORKLOAD)
    with pytest.raises(ForecastError, match=r"does not fit.*would fit: .*int4"):
        self_hosted_cost("deepseek-v3", "h100", tokens_per_month=1e9, **WORKLOAD)
    with pytest.raises(ForecastError, match="no FP8 tensor cores"):
        self_hosted_cost("llama-3.1-8b", "a100-80gb", tokens_per_month=1e9, precision="fp8", **WORKLOAD)
    with pytest.raises(ForecastError, match="tokens_per_month"):
        self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=-1.0, **WORKLOAD)


def test_diurnal_shape_mean_and_peak():
    shape = diurnal_shape(3.0)
    assert shape.mean() == pytest.approx(1.0)
    assert shape.max() == pytest.approx(3.0)
    assert np.argmax(shape) == 14


def test_autoscaled_flat_load_equals_always_on():
    # flat load (shape all ones): 1e10 tokens / 2,628,000 s = 3,805 tok/s; / (1,000 x 0.5) -> 8 replicas all day
    usd = autoscaled_monthly_usd(1e10, 1000.0, 2, 3.0, hourly_shape=np.ones(24), peak_to_average=1.0,
                                 target_utilisation=0.5)
    assert usd == pytest.approx(8 * 2 * 3.0 * 730)


@settings(max_examples=40, deadline=None)
@given(st.floats(1e6, 1e12), st.floats(1.0, 5.0), st.floats(0.1, 1.0))
def test_cost_properties(volume, peak, utilisation):
    cost = self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=volume, peak_to_average=peak,
                            target_utilisation=utilisation, **WORKLOAD)
    assert cost.monthly_usd > 0 and cost.replicas >= 1
    assert cost.utilisation <= utilisation / peak + 1e-9 or cost.replicas == 1
    more = self_hosted_cost("llama-3.1-8b", "h100", tokens_per_month=volume * 2, peak_to_average=peak,
                            target_utilisation=utilisation, **WORKLOAD)
    assert more.monthly_usd >= cost.monthly_usd  # never cheaper to serve more
    auto = autoscaled_monthly_usd(volume, cost.tokens_per_s_per_replica, cost.gpus_per_replica,
                                  cost.gpu_usd_per_hour, peak_to_average=peak, target_utilisation=utilisation)
    assert auto <= cost.monthly_usd + 1e-6  # following the load never costs more than sizing for the peak


def test_autoscaled_two_level_day_by_hand():
    # 1e10 tokens / 2,628,000 s = 3,805.18 tok/s average; half the day at 0.5x, half at 1.5x.
    # Replica capacity at 70%: 1,000 x 0.7 = 700 tok/s. Low hours: 1,902.6 / 700 = 2.72 -> 3 replicas;
    # high hours: 5,707.8 / 700 = 8.15 -> 9. Mean 6 replicas x 2 GPUs x $3 x 730 h = $26,280.
    shape = np.array([0.5] * 12 + [1.5] * 12)
    usd = autoscaled_monthly_usd(1e10, 1000.0, 2, 3.0, hourly_shape=shape, peak_to_average=1.5,
                                 target_utilisation=0.7)
    assert usd == pytest.approx(6 * 2 * 3.0 * 730)
    # the always-on fleet for the same peak: ceil(3,805.18 x 1.5 / 700) = 9 replicas all month = $39,420
    assert replicas_needed(1e10, 1000.0, 1.5, 0.7) == 9
    with pytest.raises(ForecastError, match="hourly_shape"):
        autoscaled_monthly_usd(1e10, 1000.0, 2, 3.0, hourly_shape=[1.0, 2.0])
