"""Self-hosted serving: GPU memory, throughput (calibrated roofline), capacity, cost per million
tokens and break-even against API prices. See data/gpu/ for the catalogs."""

from .catalog import Catalog, Gpu, GpuPrice, Model, load_catalog
from .fleet import SelfHostedCost, autoscaled_monthly_usd, diurnal_shape, replicas_needed, self_hosted_cost
from .serving import ReplicaPerformance, best_replica, replica_performance
from .timing import CALIBRATED, Efficiency

__all__ = [
    "CALIBRATED",
    "Catalog",
    "Efficiency",
    "Gpu",
    "GpuPrice",
    "Model",
    "ReplicaPerformance",
    "SelfHostedCost",
    "autoscaled_monthly_usd",
    "best_replica",
    "diurnal_shape",
    "load_catalog",
    "replica_performance",
    "replicas_needed",
    "self_hosted_cost",
]
