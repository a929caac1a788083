"""The choices a self-hosting question can take, readable before the catalogs load."""

PRECISIONS = ("bf16", "fp8", "int8", "int4")  # weight precisions
KV_PRECISIONS = ("bf16", "fp8")
PRICINGS = ("on_demand", "commit_1y", "commit_3y", "spot")  # GPU-hour pricings in data/gpu/gpu_prices.csv
DEFAULT_MAX_BATCH = 256  # vLLM's default max_num_seqs; TensorRT-LLM's default max_batch_size is also 256
