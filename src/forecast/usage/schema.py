"""The warehouse tables and the native request-log columns (documented in the README)."""

from __future__ import annotations

from ..core.tokens import TOKEN_FIELDS

EXPORT_KINDS = ("litellm", "langfuse", "helicone", "openai-usage", "anthropic-usage", "openai-costs",
                "anthropic-costs")  # usage.exports formats
CHARGE_KINDS = ("focus", "openai-costs", "anthropic-costs")  # formats whose rows are invoice charges
KINDS = ("native", "otel", "focus", *EXPORT_KINDS)  # file formats a load reads
FOCUS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
TAGS = ("team_id", "cost_center", "feature_id", "workflow_name", "environment", "intent")
CONTEXT = ("agent_id", "task_id", "step")
REQUIRED_COLUMNS = ("timestamp", "request_id", "model", "input_tokens", "output_tokens")
STATUSES = ("ok", "error", "retry")
OUTCOMES = ("success", "failure")
# request_count: how many requests a row stands for (1 when absent). A provider's usage export is daily or
# hourly totals per key and model: tokens and cost are the row's totals, and a long-context price tier applies
# when the row's input per request (input_tokens / request_count) passes its threshold.
NATIVE_COLUMNS = (
    "timestamp", "request_id", "provider", "model", *TOKEN_FIELDS, "request_count", "cost_usd", "status",
    "latency_ms", *TAGS, *CONTEXT, "outcome", "batch",
)
LINE = "_line"  # staged column: 1-based line in the file (CSV, JSON Lines) or row (Parquet)
MALFORMED = "_malformed"  # staged column: why a line could not be split into fields (else NULL)
RAW = "_raw"  # staged column: the record's raw text where the line number alone cannot give it (else NULL)
REQUEST_COST = "DECIMAL(18,10)"  # up to $99,999,999 per call, 1e-10 USD resolution
CHARGE_COST = "DECIMAL(38,10)"
CHARGE_VALUES = (  # a charge's values in `charges`: two charges are the same when all of them are
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "ChargePeriodStart",
    "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceProviderName", "HostProviderName", "ServiceName",
    "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuPriceId", "ConsumedQuantity", "ConsumedUnit",
    "PricingQuantity", "PricingUnit", "RegionId", "ResourceId", "ResourceName", "SubAccountId", "SubAccountName",
    "BillingAccountId", "BillingAccountName", "Tags", "extra",
)

DDL = f"""
CREATE TABLE IF NOT EXISTS loads (
    load_id BIGINT PRIMARY KEY, source_file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    focus_version VARCHAR, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
    rows_read BIGINT NOT NULL, accepted BIGINT NOT NULL, quarantined BIGINT NOT NULL, duplicate BIGINT NOT NULL,
    cost_usd_accepted {CHARGE_COST} NOT NULL, forecast_version VARCHAR NOT NULL, skipped_records BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    request_id VARCHAR NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL, provider VARCHAR, model VARCHAR NOT NULL,
    input_tokens BIGINT NOT NULL, cached_input_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL, request_count BIGINT NOT NULL DEFAULT 1,
    cost_usd {REQUEST_COST} NOT NULL, cost_source VARCHAR NOT NULL,
    status VARCHAR NOT NULL, latency_ms DOUBLE,
    {", ".join(f"{c} VARCHAR" for c in (*TAGS, *CONTEXT))},
    outcome VARCHAR, batch BOOLEAN NOT NULL, extra JSON, load_id BIGINT NOT NULL, source_line BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    focus_version VARCHAR NOT NULL,
    BilledCost {CHARGE_COST} NOT NULL, EffectiveCost {CHARGE_COST}, ListCost {CHARGE_COST},
    ContractedCost {CHARGE_COST}, BillingCurrency VARCHAR,
    ChargePeriodStart TIMESTAMPTZ NOT NULL, ChargePeriodEnd TIMESTAMPTZ NOT NULL,
    BillingPeriodStart TIMESTAMPTZ, BillingPeriodEnd TIMESTAMPTZ,
    ChargeCategory VARCHAR NOT NULL, ChargeClass VARCHAR, ChargeDescription VARCHAR,
    ProviderName VARCHAR, PublisherName VARCHAR, InvoiceIssuerName VARCHAR,
    ServiceProviderName VARCHAR, HostProviderName VARCHAR,
    ServiceName VARCHAR, ServiceCategory VARCHAR, ServiceSubcategory VARCHAR,
    SkuId VARCHAR, SkuPriceId VARCHAR, ConsumedQuantity DECIMAL(38,10), ConsumedUnit VARCHAR,
    PricingQuantity DECIMAL(38,10), PricingUnit VARCHAR, RegionId VARCHAR,
    ResourceId VARCHAR, ResourceName VARCHAR, SubAccountId VARCHAR, SubAccountName VARCHAR,
    BillingAccountId VARCHAR, BillingAccountName VARCHAR, Tags JSON, extra JSON,
    load_id BIGINT NOT NULL, source_line BIGINT NOT NULL, charge_key UBIGINT NOT NULL
);
ALTER TABLE requests ADD COLUMN IF NOT EXISTS request_count BIGINT DEFAULT 1;
CREATE TABLE IF NOT EXISTS quarantine (
    load_id BIGINT NOT NULL, source_file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    line BIGINT NOT NULL, reason VARCHAR NOT NULL, raw JSON, resolved_by_load BIGINT, raw_text VARCHAR
);
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS raw_text VARCHAR;
CREATE TABLE IF NOT EXISTS pulls (
    source VARCHAR NOT NULL, kind VARCHAR NOT NULL, since DATE NOT NULL, until DATE NOT NULL,
    pulled_at TIMESTAMPTZ NOT NULL, file VARCHAR NOT NULL, load_id BIGINT NOT NULL
);
ALTER TABLE pulls ADD COLUMN IF NOT EXISTS kind VARCHAR;
"""
