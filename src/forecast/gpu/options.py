"""The choices a self-hosting question can take, readable before the catalogs load."""

PRECISIONS = ("bf16", "fp8", "int8", "int4")  # weight precisions
KV_PRECISIONS = ("bf16", "fp8")
PRICINGS = ("on_demand", "commit_1y", "commit_3y", "spot")  # GPU-hour pricings in data/gpu/gpu_prices.csv
ENGINES = ("generic", "vllm", "sglang", "trtllm")  # presets in data/gpu/engines.yaml
