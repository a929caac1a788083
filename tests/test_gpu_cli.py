"""`forecast gpu` end to end through the CLI entry point."""

import json

import pytest

from forecast.cli.main import main, run
from forecast.core.errors import ForecastError

BASE = ["gpu", "--model", "llama-3.1-70b", "--gpu", "h100", "--prices", "none", "--date", "2026-11-25"]


def test_table_and_json():
    out, status = run([*BASE, "--precision", "fp8", "--tokens-per-month", "5e9", "--peak-to-average", "3",
                       "--vs-api", "groq:llama-3.3-70b-versatile"])
    assert status == 0
    # fp8: (70.6e9 - E) x 1 + E x 2 bytes with E = 2 x 128,256 x 8,192 = 2.101e9 (embedding and head stay 16-bit)
    for text in ("weights 72.7 GB", "replicas", "achieved utilisation", "per million tokens", "break-even",
                 "groq:llama-3.3-70b-versatile"):
        assert text in out
    doc = json.loads(run([*BASE, "--format", "json", "--vs-api", "groq:llama-3.3-70b-versatile"])[0])
    # groq llama-3.3-70b-versatile: $0.59 in / $0.79 out (genai-prices); 1,000 in + 300 out -> (590 + 237) / 1,300
    assert doc["break_even"][0]["api_usd_per_mtok"] == pytest.approx((590 + 237) / 1300)
    fleet = doc["fleet"]
    assert fleet["monthly_usd"] == pytest.approx(fleet["gpu_count"] * fleet["gpu_usd_per_hour"] * 730)


def test_impossible_configurations_say_what_fits(capsys):
    assert main(["gpu", "--model", "deepseek-v3", "--gpu", "a100-40gb", "--prices", "none"]) == 2
    assert "would fit:" in capsys.readouterr().err
    assert main([*BASE, "--tpot-ms", "1"]) == 2
    assert "TPOT <= 1 ms" in capsys.readouterr().err
    assert main([*BASE, "--vs-api", "llama"]) == 2
    assert "PROVIDER:MODEL" in capsys.readouterr().err


def test_best_precision_is_the_cheapest_per_token_at_scale():
    api = ["--vs-api", "groq:llama-3.3-70b-versatile"]
    doc = json.loads(run([*BASE, "--precision", "best", "--format", "json", *api])[0])
    options = doc["precision_options"]
    assert doc["precision_chosen"] == "cheapest" and doc["precision"] == options[0]["precision"] == "fp8"
    cheapest = min(o["usd_per_mtok_at_target_utilisation"] for o in options)
    assert options[0]["usd_per_mtok_at_target_utilisation"] == cheapest
    assert {o["precision"] for o in options} == {"bf16", "fp8", "int8", "int4"}
    # the break-even floor is the chosen precision's row of the comparison, whatever the volume asked
    assert doc["break_even"][0]["self_hosted_floor_usd_per_mtok"] == pytest.approx(cheapest)
    big = json.loads(run([*BASE, "--precision", "best", "--format", "json", "--tokens-per-month", "1e12", *api])[0])
    for key in ("self_hosted_floor_usd_per_mtok", "break_even_tokens_per_month",
                "always_cheaper_from_tokens_per_month"):
        assert big["break_even"][0][key] == pytest.approx(doc["break_even"][0][key])


def test_monthly_bill_for_on_demand_committed_and_autoscaled_fleets():
    doc = json.loads(run(["gpu", "--model", "llama-3.1-8b", "--gpu", "l4", "--provider", "aws", "--prices", "none",
                          "--tokens-per-month", "2e9", "--date", "2026-11-25", "--format", "json"])[0])
    bills = {b["pricing"]: b for b in doc["monthly_usd_by_pricing"]}
    # data/gpu/gpu_prices.csv, AWS g6.xlarge (1x L4): on-demand 0.805, 1-year 0.507, 3-year 0.346, no AWS spot row
    assert {p: b["gpu_usd_per_hour"] for p, b in bills.items()} == {"on_demand": 0.805, "commit_1y": 0.507,
                                                                    "commit_3y": 0.346}
    assert all(b["providers"] == ["aws"] for b in bills.values())
    gpus = doc["fleet"]["gpu_count"]
    for b in bills.values():
        assert b["always_on_usd"] == pytest.approx(gpus * b["gpu_usd_per_hour"] * 730)
    # autoscaled only where capacity is billed by the hour; the on-demand figure is the fleet's own
    assert bills["commit_1y"]["autoscaled_usd"] is None
    assert bills["on_demand"]["autoscaled_usd"] == pytest.approx(doc["autoscaled_monthly_usd"])


def test_each_pricing_is_compared_with_on_demand_at_the_same_providers():
    doc = json.loads(run(["gpu", "--model", "llama-3.3-70b", "--gpu", "h100", "--precision", "fp8", "--prices",
                          "none", "--date", "2026-11-25", "--format", "json"])[0])
    bills = {b["pricing"]: b for b in doc["monthly_usd_by_pricing"]}
    # data/gpu/gpu_prices.csv, H100: only gcp quotes a 1-year commitment, $7.29 against its own on-demand $11.06
    assert bills["commit_1y"]["compared_providers"] == ["gcp"]
    assert bills["commit_1y"]["change_vs_on_demand_same_providers"] == pytest.approx(7.29 / 11.06 - 1)
    # spot: aws $3.97 and gcp $2.25 (median $3.11) against their on-demand $6.88 and $11.06 (median $8.97)
    assert bills["spot"]["compared_providers"] == ["aws", "gcp"]
    assert bills["spot"]["change_vs_on_demand_same_providers"] == pytest.approx((3.97 + 2.25) / (6.88 + 11.06) - 1)
    # the catalog-wide medians differ (1-year $7.29 above the six-provider on-demand median $6.52): not compared
    assert bills["commit_1y"]["gpu_usd_per_hour"] > bills["on_demand"]["gpu_usd_per_hour"]
    assert bills["on_demand"]["change_vs_on_demand_same_providers"] == pytest.approx(0)


def test_the_engine_preset_is_named_and_its_defaults_apply():
    out, status = run([*BASE, "--precision", "fp8", "--engine", "trtllm", "--vs-api", "groq:llama-3.3-70b-versatile"])
    assert status == 0
    assert "(KV cache fp8)" in out and "engine preset: trtllm (1.2" in out and "max 2,048 sequences" in out
    out = run([*BASE, "--precision", "fp8", "--engine", "trtllm", "--kv-precision", "bf16", "--max-batch", "64",
               "--vs-api", "groq:llama-3.3-70b-versatile"])[0]
    assert "max 64 sequences (--max-batch), KV cache bf16 (--kv-precision)" in out
    plain = run([*BASE, "--vs-api", "groq:llama-3.3-70b-versatile"])[0]
    assert "engine preset: generic" in plain and "--engine vllm|sglang|trtllm sets an engine's defaults" in plain


def test_a_mixture_of_experts_says_its_throughput_is_likely_high():
    moe = ["gpu", "--model", "qwen3-30b-a3b", "--gpu", "h100", "--vs-api", "groq:llama-3.3-70b-versatile"]
    out, status = run(moe)
    assert status == 0 and "warning: mixture of experts: the throughput here is likely too high" in out
    assert json.loads(run([*moe, "--format", "json"])[0])["warnings"][0].startswith("mixture of experts")
    dense = run([*BASE, "--vs-api", "groq:llama-3.3-70b-versatile"])[0]
    assert "mixture of experts" not in dense


def test_the_layout_is_the_one_needing_the_fewest_gpus_at_the_volume():
    # 1e9 tokens a month at 2x peak and 70% utilisation: 1e9 / 2,628,000 s x 2 / 0.7 = 1,087 tokens/s at the peak,
    # which one replica of any layout carries, so one GPU (tensor parallel 1) is the cheapest fleet
    doc = json.loads(run([*BASE, "--precision", "fp8", "--model", "llama-3.1-8b", "--format", "json",
                          "--vs-api", "groq:llama-3.1-8b-instant"])[0])
    layouts = {o["gpus_per_replica"]: o for o in doc["tensor_parallel_options"]}
    assert layouts[1]["tokens_per_s"] > 1e9 / (730 * 3600) * 2 / 0.7
    assert (doc["fleet"]["gpus_per_replica"], doc["fleet"]["gpu_count"]) == (1, 1)
    forced = json.loads(run([*BASE, "--precision", "fp8", "--model", "llama-3.1-8b", "--format", "json",
                             "--vs-api", "groq:llama-3.1-8b-instant", "--gpus-per-replica", "2"])[0])
    assert (forced["fleet"]["gpus_per_replica"], forced["fleet"]["gpu_count"]) == (2, 2)
    with pytest.raises(ForecastError, match=r"--gpus-per-replica 3: must be one of 4, 8 for llama-3\.1-70b at bf16"):
        run([*BASE, "--gpus-per-replica", "3"])  # 141 GB of bf16 weights need 4 or 8 H100s


def test_requests_the_model_cannot_read_and_engines_the_gpu_cannot_run_are_refused():
    # llama-3.1-70b reads 131,072 tokens (max_position_embeddings): 200,000 + 300 is refused, not priced
    with pytest.raises(ForecastError, match=r"--input 200,000: plus --output 300 is 200,300 tokens: llama-3\.1-70b "
                                            r"reads at most 131,072 a request"):
        run([*BASE, "--input", "200000"])
    from forecast.gpu.sizing import size_fleet

    with pytest.raises(ForecastError, match="tokens_per_month 0: must be above 0"):  # the CLI's argument type refuses 0
        size_fleet("llama-3.1-70b", "h100", tokens_per_month=0, vs_api=[])
    with pytest.raises(ForecastError, match="--engine trtllm: runs on NVIDIA GPUs only, not on AMD Instinct MI300X"):
        run(["gpu", "--model", "llama-3.1-8b", "--gpu", "mi300x", "--engine", "trtllm", "--prices", "none"])
    amd = json.loads(run(["gpu", "--model", "llama-3.1-8b", "--gpu", "mi300x", "--engine", "vllm", "--prices",
                          "none", "--format", "json"])[0])
    assert amd["warnings"][0].startswith("AMD Instinct MI300X 192GB: the timing model's factors were fitted on NVIDIA")


def test_a_fleet_smaller_than_an_instance_is_told_what_the_instance_costs():
    # AWS rents H100s only as p5.48xlarge (8 GPUs): a 2-GPU fleet pays for 8 there, 8 x $6.88 x 730 h = $40,179
    doc = json.loads(run([*BASE, "--precision", "fp8", "--provider", "aws", "--format", "json", "--vs-api",
                          "groq:llama-3.3-70b-versatile"])[0])
    assert doc["fleet"]["gpu_count"] == 2
    assert doc["warnings"] == ["aws rents h100s 8 at a time: a fleet of 2 pays for 8 there, $40,179 a month at its "
                               "on_demand prices (the price above is per GPU, as if rented one at a time)"]
    # RunPod rents single H100s: no warning
    single = json.loads(run([*BASE, "--precision", "fp8", "--provider", "runpod", "--format", "json", "--vs-api",
                             "groq:llama-3.3-70b-versatile"])[0])
    assert single["warnings"] == []
