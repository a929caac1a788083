"""The four kinds of billed tokens, in one order everywhere: prices, estimates, usage rows and drivers.

    >>> TOKEN_KINDS
    ('input', 'cached_input', 'cache_write', 'output')
    >>> TOKEN_FIELDS[1]
    'cached_input_tokens'
"""

TOKEN_KINDS = ("input", "cached_input", "cache_write", "output")
TOKEN_FIELDS = tuple(f"{kind}_tokens" for kind in TOKEN_KINDS)  # token counts: input_tokens, ...
