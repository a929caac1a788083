"""Anthropic cost report: the pages of the Admin API's `GET /v1/organizations/cost_report` (daily buckets), as it
returns them or as saved one page per line, loaded as FOCUS charges (the invoice side that usage reconciles
against).

Source: Anthropic, "Get Cost Report" reference and "Usage and Cost API" guide (platform.claude.com, checked
2026-12-02): `amount` is a decimal string in the lowest currency unit ("123.45" in USD is $1.2345); currency
is "USD"; cost_type, token_type, description, model, service_tier, context_window and inference_geo are set
when the report is grouped by description; Priority Tier costs are not in this report.

Each result is one charge: BilledCost = EffectiveCost <- amount / 100; BillingCurrency <- currency;
ChargePeriodStart / End <- the bucket's starting_at / ending_at; ChargeDescription <- description (else
cost_type); SkuId <- model; SubAccountId <- workspace_id; x_CostType, x_TokenType, x_ServiceTier,
x_ContextWindow, x_InferenceGeo.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .anthropic_usage import split
from .charges import COLUMNS, charge
from .common import RecordError

NAME = "anthropic-costs"
MARKS = ("amount", "currency", "starting_at")
__all__ = ("COLUMNS", "MARKS", "NAME", "row", "split")


def _usd(amount) -> str:
    """Cents as a decimal string -> USD as text, exactly.

    >>> _usd("123.45")
    '1.2345'
    """
    try:
        cents = Decimal(str(amount)) if isinstance(amount, str | int) and not isinstance(amount, bool) else None
    except InvalidOperation:
        cents = None
    if cents is None or not cents.is_finite():
        raise RecordError(f"has amount {amount!r}: must be a decimal string of cents")
    return format(cents / 100, "f")


def row(result: dict) -> dict:
    """The charge of one cost-report result."""
    return charge("Anthropic", _usd(result.get("amount")), result.get("currency"), result.get("starting_at"),
                  result.get("ending_at"), result.get("description") or result.get("cost_type"),
                  SkuId=result.get("model"), SubAccountId=result.get("workspace_id"),
                  x_CostType=result.get("cost_type"), x_TokenType=result.get("token_type"),
                  x_ServiceTier=result.get("service_tier"), x_ContextWindow=result.get("context_window"),
                  x_InferenceGeo=result.get("inference_geo"))
