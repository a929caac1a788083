"""Memory, timing and break-even arithmetic, checked against numbers worked out by hand from the configs."""

import math

import numpy as np
import pytest

from forecast.core.errors import ForecastError, SpecError
from forecast.gpu.breakeven import api_usd_per_mtok, break_even_volumes, cost_curve
from forecast.gpu.catalog import load_catalog, load_gpus
from forecast.gpu.memory import kv_bytes_per_token, kv_bytes_per_token_per_gpu, max_concurrent_sequences, weight_bytes
from forecast.gpu.timing import Efficiency, decode_step_s, prefill_s, weight_bytes_read

CAT = load_catalog()
EFF = Efficiency(memory_bandwidth_utilisation=0.5, compute_utilisation=0.5, step_overhead_ms=2.0,
                 allreduce_latency_us=10.0)


def test_kv_cache_bytes_by_hand():
    # Llama 3.1 70B: 2 (K,V) x 80 layers x 8 KV heads x 128 head dim x 2 bytes = 327,680 bytes per token
    assert kv_bytes_per_token(CAT.model("llama-3.1-70b")) == 327_680
    assert kv_bytes_per_token(CAT.model("llama-3.1-70b"), "fp8") == 163_840
    # DeepSeek-V3 MLA: 61 layers x (512 latent + 64 rope) x 2 bytes = 70,272, the same on every GPU
    deepseek = CAT.model("deepseek-v3")
    assert kv_bytes_per_token(deepseek) == 70_272
    assert kv_bytes_per_token_per_gpu(deepseek, 8) == 70_272
    # Qwen2.5-7B has 4 KV heads: on 8 GPUs each holds one (replicated): 2 x 28 x 1 x 128 x 2 = 14,336
    assert kv_bytes_per_token_per_gpu(CAT.model("qwen2.5-7b"), 8) == 14_336
    assert kv_bytes_per_token_per_gpu(CAT.model("qwen2.5-7b"), 2) == 2 * 28 * 2 * 128 * 2


def test_weights_and_concurrency_by_hand():
    m, g = CAT.model("llama-3.1-8b"), CAT.gpu("h100")
    assert weight_bytes(m, "bf16") == pytest.approx(16.06e9)
    # int4: 4 bits + one fp16 scale per 128 weights = 4.125 bits, except the embedding and output head
    # (2 x 128,256 vocab x 4,096 hidden = 1,050,673,152 parameters), which stay at 2 bytes:
    # (8.03e9 - 1.0507e9) x 4.125 / 8 + 1.0507e9 x 2 = 3.5987e9 + 2.1013e9 = 5.7001e9
    assert weight_bytes(m, "int4") == pytest.approx((8.03e9 - 1_050_673_152) * 4.125 / 8 + 1_050_673_152 * 2)
    assert weight_bytes(m, "int4") == pytest.approx(5.7001e9, rel=1e-4)
    # usable 80 x 0.9 - 2 = 70 GB; minus 16.06 GB weights = 53.94 GB; / 131,072 bytes per token (2x32x8x128x2)
    # = 411,530 tokens; / 2,000-token sequences = 205
    assert max_concurrent_sequences(m, g, "bf16", 1, 1500, 500) == 205
    assert max_concurrent_sequences(CAT.model("llama-3.1-70b"), g, "bf16", 1, 1500, 500) == 0


def test_decode_step_memory_bound_by_hand():
    m, g = CAT.model("llama-3.1-8b"), CAT.gpu("h100")
    # batch 1, 1,000 tokens of context: bytes 16.06e9 + 1,000 x 131,072; at 3.35e12 x 0.5 B/s; + 2 ms overhead
    expected = (16.06e9 + 1000 * 131_072) / (3.35e12 * 0.5) + 0.002
    assert decode_step_s(m, g, "bf16", 1, 1, 1000, EFF) == pytest.approx(expected)
    # tp 2 halves bytes and adds 2 x 32 all-reduces of 1 x 4,096 x 2 bytes: 10 us + (2-1)/2 x 2 x 8,192 / 450e9
    comm = 64 * (10e-6 + 8192 / 450e9)
    expected2 = (16.06e9 / 2 + 1000 * 131_072 / 2) / (3.35e12 * 0.5) + comm + 0.002
    assert decode_step_s(m, g, "bf16", 2, 1, 1000, EFF) == pytest.approx(expected2)


def test_prefill_compute_bound_by_hand():
    m, g = CAT.model("llama-3.1-8b"), CAT.gpu("a100-80gb")
    # 2,048 tokens: 2 x 8.03e9 x 2,048 FLOPs + attention 4 x 32 heads x 128 x 32 layers x 2,048 x 2,049 / 2
    flops = 2 * 8.03e9 * 2048 + 4 * 32 * 128 * 32 * 2048 * 2049 / 2
    assert prefill_s(m, g, "bf16", 1, 1, 2048, EFF) == pytest.approx(flops / (312e12 * 0.5) + 0.002)


def test_moe_reads_only_touched_experts():
    mixtral = CAT.model("mixtral-8x7b")
    # per expert (46.7 - 12.9) / (8 - 2) = 5.6333B; shared 12.9 - 2 x 5.6333 = 1.6333B; one token reads 12.9B
    assert weight_bytes_read(mixtral, "bf16", 1) == pytest.approx(12.9e9 * 2)
    # 1,000 tokens touch all 8 experts: 1.6333 + 8 x 5.6333 = 46.7B
    assert weight_bytes_read(mixtral, "bf16", 1000) == pytest.approx(46.7e9 * 2, rel=1e-6)
    reads = weight_bytes_read(mixtral, "bf16", np.arange(1, 50))
    assert np.all(np.diff(reads) >= 0)


def test_break_even_volumes_by_hand():
    # replica $1,000/month carrying 1e9 tokens; API $2/Mtok sells 5e8 tokens for $1,000 -> first and always at 5e8
    assert break_even_volumes(1000, 1e9, 2.0) == pytest.approx((5e8, 5e8))
    # API $1.25/Mtok: C/a = 8e8; n* = ceil(1e9 / 2e8) - 1 = 4 -> always cheaper from 4 x 8e8 = 3.2e9
    assert break_even_volumes(1000, 1e9, 1.25) == pytest.approx((8e8, 3.2e9))
    # API cheaper than a full replica: never
    assert break_even_volumes(1000, 1e9, 0.5) == (math.inf, math.inf)
    # 1,000 in at $0.5 and 300 out at $1.5: (500 + 450) / 1,300 USD per Mtok
    assert api_usd_per_mtok(0.5, 1.5, 1000, 300) == pytest.approx(950 / 1300)
    # 1.5e9 tokens need 2 replicas: $2,000 / 1,500 Mtok
    assert cost_curve([1.5e9], 1000, 1e9)[0] == pytest.approx(2000 / 1500)


def test_catalog_rows_validated(tmp_path):
    bad = tmp_path / "gpus.csv"
    bad.write_text("gpu,name,memory_gb,memory_bandwidth_tb_per_s,bf16_dense_tflops,int8_dense_tops,interconnect,"
                   "interconnect_gb_per_s,max_gpus_per_node,source,as_of\n"
                   "x1,X,-80,3,1,1,pcie,32,8,datasheet,2025-01\n")
    with pytest.raises(SpecError, match=r"gpus\.csv: line 2: memory_gb: '-80': Input should be greater than 0"):
        load_gpus(bad)


def test_every_row_has_source_and_date_and_replaces_resolve_format():
    for g in CAT.gpus.values():
        assert len(g.source) > 10 and g.as_of
    for p in CAT.prices:
        assert len(p.source) > 10 and p.as_of
    for m in CAT.models.values():
        assert "huggingface.co" in m.source and m.as_of
        assert all(":" in r for r in m.replaces)
    with pytest.raises(ForecastError, match="closest known"):
        CAT.model("mixtral-8x8b")


PRICE_HEADER = "gpu,provider,offering,pricing,usd_per_gpu_hour,source,as_of\n"


def test_price_rows_listed_twice_or_with_extra_cells_are_rejected(tmp_path):
    from forecast.gpu.catalog import load_prices

    row = "h100,aws,p5,on_demand,6.88,aws.amazon.com pricing page,2025-06\n"
    twice = tmp_path / "twice.csv"
    twice.write_text(PRICE_HEADER + row + row)
    with pytest.raises(SpecError, match=r"twice\.csv: line 3: h100,aws,on_demand: listed twice \(first at line 2\)"):
        load_prices(twice, CAT.gpus)
    extra = tmp_path / "extra.csv"
    extra.write_text(PRICE_HEADER + row.replace("\n", ",oops\n"))
    with pytest.raises(SpecError, match=r"extra\.csv: line 2: \['oops'\]: more cells than the header has columns"):
        load_prices(extra, CAT.gpus)
    undated = tmp_path / "undated.csv"
    undated.write_text(PRICE_HEADER + row.replace(",2025-06", ","))
    with pytest.raises(SpecError, match=r"undated\.csv: line 2: as_of: missing"):
        load_prices(undated, CAT.gpus)


def test_moe_expert_counts_are_validated(tmp_path):
    from forecast.gpu.catalog import load_models

    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  - {name: m, attention: gqa, layers: 2, hidden_size: 8, attention_heads: 2, kv_heads: 1,"
                   " head_dim: 4, vocab_size: 10, total_params_b: 2, active_params_b: 1, max_context_tokens: 10,"
                   " routed_experts: 2, experts_per_token: 2, source: hf config, as_of: 2024-01}\n")
    with pytest.raises(SpecError, match=r"models\[0\]\.experts_per_token: 2: must be fewer than routed_experts"):
        load_models(bad)


def _hand_cycle_s(c: int) -> float:
    """Llama 3.1 8B, bf16, 1 x H100, EFF above, requests of 1,000 in + 100 out, `c` in flight, worked from the
    roofline formulas: weights 16.06e9 B; KV 131,072 B/token; attention 4 x 32 heads x 128 x 32 layers = 524,288
    FLOPs per context token; bandwidth 3.35e12 x 0.5 = 1.675e12 B/s; compute 989.4e12 x 0.5 = 494.7e12 FLOP/s."""
    prefill = max((16.06e9 + c * 1000 * 131_072) / 1.675e12,
                  (2 * 8.03e9 * c * 1000 + c * 524_288 * 1000 * 1001 / 2) / 494.7e12) + 0.002
    context = 1000 + 100 / 2  # mean context over the decode steps
    decode = max((16.06e9 + c * context * 131_072) / 1.675e12, c * (2 * 8.03e9 + context * 524_288) / 494.7e12) + 0.002
    return prefill + 100 * decode


def test_replica_throughput_and_latency_by_hand():
    from forecast.gpu.serving import replica_performance

    m, g = CAT.model("llama-3.1-8b"), CAT.gpu("h100")
    r = replica_performance(m, g, "bf16", 1, 1000, 100, concurrency=4, eff=EFF)
    # prefill of 4 prompts: compute-bound, (6.424e13 + 1.0496e12) / 494.7e12 + 2 ms = 134.0 ms;
    # decode step at batch 4: memory-bound, 16.61e9 / 1.675e12 + 2 ms = 11.92 ms; cycle = 134.0 + 100 x 11.92 ms
    assert _hand_cycle_s(4) == pytest.approx(0.1340 + 100 * 0.011917, rel=1e-3)
    assert r.output_tokens_per_s == pytest.approx(4 * 100 / _hand_cycle_s(4), rel=1e-12)
    assert r.tokens_per_s == pytest.approx(4 * 1100 / _hand_cycle_s(4), rel=1e-12)
    assert r.tpot_ms == pytest.approx(1e3 * _hand_cycle_s(4) / 100, rel=1e-12)
    # TTFT on an idle replica: one 1,000-token prefill, (1.606e13 + 2.624e11) / 494.7e12 + 2 ms = 34.99 ms
    assert r.ttft_ms == pytest.approx(1e3 * ((2 * 8.03e9 * 1000 + 524_288 * 1000 * 1001 / 2) / 494.7e12 + 0.002))
    # memory limit: (80 x 0.9 - 2 - 16.06) GB / 131,072 B = 411,530 tokens / 1,100 = 374 sequences, capped at 256
    assert r.max_concurrency == 256
    # a TPOT target of 15 ms: the largest concurrency whose cycle / 100 output tokens is <= 15 ms
    tpot = replica_performance(m, g, "bf16", 1, 1000, 100, tpot_target_ms=15.0, eff=EFF)
    expected = max(c for c in range(1, 257) if 1e3 * _hand_cycle_s(c) / 100 <= 15.0)
    assert 1 < expected < 256 and tpot.concurrency == expected
    with pytest.raises(ForecastError, match="latency target unreachable"):
        replica_performance(m, g, "bf16", 1, 1000, 100, ttft_target_ms=30.0, eff=EFF)  # idle TTFT is 35 ms
    # 1,000 requests in flight: the 256 the cap allows run, the rest queue (throughput of concurrency 256)
    queued = replica_performance(m, g, "bf16", 1, 1000, 100, concurrency=1000, eff=EFF)
    assert queued.concurrency == 256
    assert queued.output_tokens_per_s == pytest.approx(256 * 100 / _hand_cycle_s(256), rel=1e-12)
    with pytest.raises(ForecastError, match="at least 1"):
        replica_performance(m, g, "bf16", 1, 1000, 100, concurrency=0, eff=EFF)


def test_deepseek_v3_moe_split_and_mla_attention_by_hand():
    from forecast.gpu.timing import attention_flops_per_context_token, expert_split_params

    ds = CAT.model("deepseek-v3")
    # per routed expert (over all MoE layers): (671 - 37) / (256 - 8) = 2.5565B; always used: 37 - 8 x 2.5565 = 16.548B
    shared, per_expert = expert_split_params(ds)
    assert per_expert == pytest.approx(634e9 / 248)
    assert shared == pytest.approx(37e9 - 8 * 634e9 / 248)
    # one token reads the active parameters, 1 byte each at fp8, but the embedding and output head
    # (2 x 129,280 x 7,168 = 1,853,358,080 parameters) at 2 bytes: 37e9 + 1.853e9 bytes
    embed = 2 * 129_280 * 7_168
    assert weight_bytes_read(ds, "fp8", 1) == pytest.approx(37e9 + embed)
    # absorbed MLA: per head 2 x (512 + 64) FLOPs for scores + 2 x 512 for values; x 128 heads x 61 layers
    assert attention_flops_per_context_token(ds) == 2 * 128 * (2 * 512 + 64) * 61 == 16_990_208
    # fp8 weights 671 GB + 1.853 GB (16-bit embedding and head) over 8 x H200: (141 x 0.9 - 2 - 84.107) GB per GPU
    # / 70,272 B per token (the latent is on every GPU)
    from forecast.gpu.memory import kv_capacity_tokens

    free_gb = 126.9 - 2 - (671e9 + embed) / 8e9
    assert kv_capacity_tokens(ds, CAT.gpu("h200"), "fp8", 8) == pytest.approx(free_gb * 1e9 / 70_272)


def test_precisions_compared_by_cost_per_token():
    from forecast.gpu.breakeven import floor_usd_per_mtok
    from forecast.gpu.serving import best_replica, best_replica_per_precision

    m, g = CAT.model("llama-3.1-70b"), CAT.gpu("h100")
    options = {r.precision: r for r in best_replica_per_precision(m, g, 1000, 300)}
    # bf16 weights 141.2 GB: 70.6 GB per GPU on 2 GPUs exceeds the 80 x 0.9 - 2 = 70 GB usable -> 4 GPUs at least;
    # int4 (4.125 bits) is 36.4 GB and fits one GPU
    assert options["bf16"].gpus_per_replica >= 4 and options["int4"].gpus_per_replica >= 1
    # H100 datasheet: dense FP8 = dense INT8 = 1,978.9 and both store 1 byte a weight -> identical throughput
    assert options["fp8"].tokens_per_s == options["int8"].tokens_per_s
    for p, r in options.items():
        assert r == best_replica(CAT, m, g, p, 1000, 300)  # each precision at its own best tensor-parallel degree
    per_gpu = [r.tokens_per_s / r.gpus_per_replica for r in best_replica_per_precision(m, g, 1000, 300)]
    assert per_gpu == sorted(per_gpu, reverse=True)
    # an FP8-less GPU is never offered fp8
    assert "fp8" not in {r.precision for r in best_replica_per_precision(m, CAT.gpu("a100-80gb"), 1000, 300)}
    # floor: 2 GPUs x $6.5 / (10,000 tok/s x 3,600 s x 0.7 / 2) x 1e6 = 13 / 12.6e6 x 1e6 = $1.0317 per Mtok
    assert floor_usd_per_mtok(13.0, 10_000.0, 0.7, 2.0) == pytest.approx(13 / 12.6)


# ---------------------------------------------------------------- sliding-window and chunked attention (by hand)

def test_a_sliding_window_caps_the_kv_cache_and_attention_of_its_layers():
    from forecast.gpu.memory import attended_pairs, attended_tokens, kv_capacity_tokens

    oss = CAT.model("gpt-oss-120b")  # 36 layers, 18 of them with a 128-token window; 8 KV heads of 64
    assert kv_bytes_per_token(oss) == 2 * 36 * 8 * 64 * 2  # every layer caches a token it has not passed
    # a 1,300-token sequence: 18 full layers hold 1,300 tokens, 18 windowed layers 128: average 714
    assert float(attended_tokens(oss, 1300)) == (18 * 1300 + 18 * 128) / 36 == 714
    capacity = kv_capacity_tokens(oss, CAT.gpu("h200"), "int4", 1)
    assert max_concurrent_sequences(oss, CAT.gpu("h200"), "int4", 1, 1000, 300) == math.floor(capacity / 714)
    # prefill of 1,000 tokens: full layers 1000 x 1001 / 2 = 500,500 pairs; windowed 128 x 129 / 2 + 872 x 128
    assert float(attended_pairs(oss, 1000)) == (18 * 500_500 + 18 * (8_256 + 111_616)) / 36
    dense = CAT.model("llama-3.1-8b")
    assert float(attended_tokens(dense, 1300)) == 1300 and float(attended_pairs(dense, 1000)) == 500_500
    # the decode step reads the capped cache: 64 sequences of 10,000 tokens read 64 x (18 x 10,000 + 18 x 128) / 36
    # tokens of KV, not 64 x 10,000
    eff = Efficiency(1.0, 1.0, 0.0, 0.0)
    short, long = (decode_step_s(oss, CAT.gpu("h200"), "int4", 1, 64, c, eff) for c in (128, 10_000))
    read = 64 * ((18 * 10_000 + 18 * 128) / 36 - 128) * (2 * 36 * 8 * 64 * 2) / 4.8e12  # H200: 4.8 TB/s
    assert float(long - short) == pytest.approx(read, rel=1e-9)


def test_today_s_open_models_and_accelerators_are_in_the_catalog_with_their_sources():
    kimi = CAT.model("moonshotai/kimi-k2-instruct")
    assert (kimi.name, kimi.attention, kimi.routed_experts, kimi.experts_per_token) == ("kimi-k2", "mla", 384, 8)
    assert CAT.model("deepseek-r1").layers == CAT.model("deepseek-v3").layers == 61
    mi = CAT.gpu("mi300x")
    assert (mi.memory_gb, mi.memory_bandwidth_tb_per_s, mi.fp8_dense_tflops) == (192, 5.3, 2614.9)
    # median on-demand over TensorWave 1.50, Vultr 1.85, Azure 6.00, Oracle 6.00: (1.85 + 6.00) / 2
    assert CAT.gpu_usd_per_hour("mi300x") == pytest.approx(3.925)
    assert CAT.gpu("h200-nvl").max_gpus_per_node == 4
    with pytest.raises(ForecastError, match="closest known: llama-4-maverick, llama-4-scout"):
        CAT.model("llama-4-behemoth")


def test_every_model_s_replaced_apis_have_a_price():
    from datetime import date

    from forecast.design.prices import price_book

    book = price_book("none")
    for m in CAT.models.values():
        for api in m.replaces:
            provider, model = api.split(":", 1)
            assert book.lookup(model, provider, date(2026, 12, 1)).base.input_usd_per_mtok > 0, (m.name, api)


def test_a_window_needs_its_layer_count(tmp_path):
    from forecast.core.resources import packaged
    from forecast.gpu.catalog import load_models

    text = (packaged("data", "gpu") / "models.yaml").read_text().replace("    window_layers: 18\n", "", 1)
    bad = tmp_path / "models.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError, match="window_tokens and window_layers go together"):
        load_models(bad)


def test_engine_presets_set_the_sequence_cap_kv_memory_and_kv_precision():
    from forecast.gpu.engines import engine
    from forecast.gpu.memory import kv_capacity_tokens
    from forecast.gpu.sizing import size_fleet

    h100, model = CAT.gpu("h100"), CAT.model("llama-3.3-70b")
    trt, generic = engine("trtllm"), engine(None)
    assert (trt.max_batch(h100), trt.kv_precision("fp8"), trt.kv_precision("bf16")) == (2048, "fp8", "bf16")
    assert (generic.name, generic.max_batch(h100), generic.kv_precision("fp8")) == ("generic", 256, "bf16")
    # 2 x H100 at fp8: 72.7 GB of weights (70.6B - 2.1B embedding at 1 byte, the embeddings at 2) = 36.4 GB a GPU;
    # TensorRT-LLM keeps 90% of (80 - 2 - 36.4) GB for the cache, the generic preset 80 x 0.9 - 2 - 36.4 GB
    weights = (70.6e9 - 2 * 128256 * 8192) * 1 + 2 * 128256 * 8192 * 2
    per_token = 2 * 80 * 4 * 128 * 1  # fp8 KV: 8 KV heads over 2 GPUs, 1 byte a value
    trt_tokens = kv_capacity_tokens(model, h100, "fp8", 2, "fp8", trt)
    assert trt_tokens == pytest.approx((80 - 2 - weights / 2 / 1e9) * 0.9 * 1e9 / per_token)
    generic_tokens = kv_capacity_tokens(model, h100, "fp8", 2, "fp8")
    assert generic_tokens == pytest.approx((80 * 0.9 - 2 - weights / 2 / 1e9) * 1e9 / per_token)
    sized = size_fleet("llama-3.3-70b", "h100", precision="fp8", engine="trtllm", vs_api=[]).to_dict()
    assert (sized["engine"]["name"], sized["engine"]["max_batch"], sized["kv_precision"]) == ("trtllm", 2048, "fp8")
    given = size_fleet("llama-3.3-70b", "h100", precision="fp8", engine="trtllm", kv_precision="bf16",
                       max_batch=64, vs_api=[], gpus_per_replica=4).to_dict()
    assert (given["engine"]["max_batch"], given["kv_precision"], given["fleet"]["concurrency_per_replica"]) == (
        64, "bf16", 64)
    with pytest.raises(ForecastError, match="engine 'tgi': must be one of generic, vllm, sglang, trtllm"):
        engine("tgi")
    from forecast.gpu.engines import engines
    from forecast.gpu.options import ENGINES

    assert tuple(engines()) == ENGINES  # the CLI's choices, read before the file loads


def test_a_current_mistral_model_and_h200_nvl_prices():
    small = CAT.model("mistral-small-3.2-24b-instruct")  # 3.2 is served on 3.1's architecture
    # config.json (text_config): 40 layers, 32 heads of 128 (not hidden / heads = 160), 8 KV heads
    assert (small.name, small.layers, small.head_dim, small.kv_heads) == ("mistral-small-3.1-24b", 40, 128, 8)
    # KV cache per token at bf16: 2 x 40 layers x 8 heads x 128 x 2 bytes = 163,840 bytes
    from forecast.gpu.memory import kv_bytes_per_token

    assert kv_bytes_per_token(small, "bf16") == 2 * 40 * 8 * 128 * 2
    # median on-demand over Massed Compute 2.83 and RunPod 3.39
    assert CAT.gpu_usd_per_hour("h200-nvl") == pytest.approx((2.83 + 3.39) / 2)
