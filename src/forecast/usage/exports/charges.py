"""Providers' cost reports as FOCUS charge rows: what a format that bills (not one that logs usage) stages, for
the FOCUS checks and `charges` table to take like any FOCUS file."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .common import utc_text

AMOUNTS = ("BilledCost", "EffectiveCost")  # not part of a charge's identity: a revised amount is the same charge
COLUMNS = ("BilledCost", "EffectiveCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
           "ChargeDescription", "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceCategory", "ServiceName",
           "SkuId", "SubAccountId", "x_ApiKeyId", "x_CostType", "x_TokenType", "x_ServiceTier", "x_ContextWindow",
           "x_InferenceGeo", "x_Quantity", "x_QuantityUnit")


def charge(provider_name: str, usd, currency, start, end, description, **more) -> dict:
    """One day's (or hour's) charge of a provider: BilledCost = EffectiveCost = `usd`, a Usage charge (a Credit
    when negative); the report has no list price, so reconcile takes the billed cost as the usage at list.

    >>> charge("OpenAI", 0.5, "usd", 1730419200, 1730505600, "gpt-4o, input")["ChargePeriodStart"]
    '2024-11-01T00:00:00+00:00'
    """
    return {"BilledCost": usd, "EffectiveCost": usd, "BillingCurrency": str(currency).upper() if currency else None,
            "ChargePeriodStart": utc_text(start), "ChargePeriodEnd": utc_text(end),
            "ChargeCategory": "Credit" if _negative(usd) else "Usage",
            "ChargeDescription": description, "ProviderName": provider_name, "PublisherName": provider_name,
            "InvoiceIssuerName": provider_name, "ServiceCategory": "AI and Machine Learning",
            "ServiceName": f"{provider_name} API", **more}


def _negative(usd) -> bool:
    try:
        return Decimal(str(usd)) < 0
    except (InvalidOperation, ValueError):
        return False  # not a number: the FOCUS checks refuse it
