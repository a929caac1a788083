"""Memory, timing and break-even arithmetic, checked against numbers worked out by hand from the configs."""

import math

import numpy as np
import pytest

from forecast.errors import ForecastError, SpecError
from forecast.gpu import load_catalog
from forecast.gpu.breakeven import api_usd_per_mtok, break_even_volumes, cost_curve
from forecast.gpu.catalog import load_gpus
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
    assert weight_bytes(m, "int4") == pytest.approx(8.03e9 * 4.125 / 8)  # 4 bits + fp16 scale per 128
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
