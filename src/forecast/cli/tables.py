"""Plain-text tables for the terminal: a header and rows of strings, columns padded to fit."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = [(str.ljust if i < left else str.rjust) for i in range(len(header))]
    return ["  ".join(fmt[i](cell, widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
