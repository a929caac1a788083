"""OpenAI organization costs: the pages of `GET /v1/organization/costs` (daily buckets), as the API returns them or
as saved one page per line, loaded as FOCUS charges (the invoice side that usage reconciles against).

Source: OpenAI's OpenAPI spec (openai/openai-openapi, CostsResult: amount {value, currency}, line_item,
project_id, api_key_id, quantity, quantity_unit; checked 2026-12-02). `amount.value` is in the currency named,
lowercase ("usd").

Each result is one charge: BilledCost = EffectiveCost <- amount.value; BillingCurrency <- amount.currency;
ChargePeriodStart / End <- the bucket's start_time / end_time; ChargeDescription <- line_item (e.g.
"gpt-4o-2024-08-06, input"); SubAccountId <- project_id; x_ApiKeyId, x_Quantity, x_QuantityUnit. The report has
no list price: `forecast reconcile` takes the billed cost as the usage at list.
"""

from __future__ import annotations

from .charges import COLUMNS, charge
from .common import RecordError
from .openai_usage import split

NAME = "openai-costs"
MARKS = ("amount", "line_item", "start_time")
__all__ = ("COLUMNS", "MARKS", "NAME", "row", "split")


def row(result: dict) -> dict | None:
    """The charge of one costs result; None for a result of another kind."""
    if result.get("object") != "organization.costs.result":
        return None
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise RecordError(f"has amount {amount!r}: must be an object with value and currency")
    return charge("OpenAI", amount.get("value"), amount.get("currency"), result.get("start_time"),
                  result.get("end_time"), result.get("line_item"), SubAccountId=result.get("project_id"),
                  x_ApiKeyId=result.get("api_key_id"), x_Quantity=result.get("quantity"),
                  x_QuantityUnit=result.get("quantity_unit"))
