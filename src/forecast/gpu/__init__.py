"""Self-hosted serving: GPU memory, throughput (calibrated roofline), capacity, cost per million
tokens and break-even against API prices. See data/gpu/ for the catalogs."""
