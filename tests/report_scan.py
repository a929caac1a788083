"""What a finance reader must never see in a report, its charts or its workbook: a dollar after the minus
('$-6.02'), NaN, infinity, scientific notation, a pandas row number for an index, or a snake_case header."""

from __future__ import annotations

import html
import re
from pathlib import Path

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
BAD_TEXT = [("'$-' (the minus goes before the dollar)", re.compile(r"\$-")),
            ("NaN", re.compile(r"\bnan\b", re.IGNORECASE)),
            ("infinity", re.compile(r"\binf\b|∞", re.IGNORECASE)),
            # 5e+09, 1.2e-05 standing alone (not a run id or hash that happens to hold '3e2' or '9e-4')
            ("scientific notation", re.compile(r"(?<![\w.-])\d+(\.\d+)?[eE][+-]\d+(?![\w-])"))]
HEADER = re.compile(r'<th[^>]*class="col_heading[^"]*"[^>]*>(.*?)</th>', re.S)
ROW_HEADING = re.compile(r'<th[^>]*class="row_heading[^"]*"[^>]*>\s*(\d+)\s*</th>', re.S)
IGNORED = re.compile(r"<style.*?</style>|<script.*?</script>|<svg.*?</svg>|<img[^>]*>", re.S)
PROVENANCE = re.compile(r'<footer class="forecast-provenance".*?</footer>', re.S)


def visible_text(page: str) -> str:
    """The text of an HTML page without styles, scripts, charts, tags or the provenance footer (hashes hold 'e1')."""
    body = PROVENANCE.sub(" ", IGNORED.sub(" ", page))
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


SVG_IMAGE = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
SVG_TEXT = re.compile(r"<text\b[^>]*?(?<!/)>(.*?)</text>", re.S)


def chart_texts(page: str) -> list[str]:
    """The words the page's charts draw (titles, axis labels, legends), from their inline SVG images."""
    import base64

    return [html.unescape(t) for data in SVG_IMAGE.findall(page)
            for t in SVG_TEXT.findall(base64.b64decode(data).decode("utf-8", "replace"))]


def html_problems(path: Path) -> list[str]:
    page = path.read_text(encoding="utf-8")
    text = visible_text(page)
    found = [f"{path.name}: {what}: ...{text[max(0, m.start() - 40):m.end() + 40]!r}..."
             for what, rx in BAD_TEXT for m in [rx.search(text)] if m]
    found += [f"{path.name}: a chart shows {what}: {label!r}" for label in chart_texts(page)
              for what, rx in BAD_TEXT if rx.search(label)]
    found += [f"{path.name}: snake_case column header {h!r}" for h in
              {html.unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in HEADER.findall(page)} if SNAKE.match(h)]
    if ROW_HEADING.search(page):
        found.append(f"{path.name}: a table shows its pandas row number as an index column")
    return found


def workbook_problems(path: Path) -> list[str]:
    from openpyxl import load_workbook

    found = []
    book = load_workbook(path)
    for sheet in book.worksheets:
        if sheet.title == "Provenance":
            continue
        headers = [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]
        found += [f"{path.name} [{sheet.title}]: snake_case header {h!r}" for h in headers
                  if isinstance(h, str) and SNAKE.match(h)]
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float) and cell.value != cell.value:
                    found.append(f"{path.name} [{sheet.title}] {cell.coordinate}: NaN stored")
                if isinstance(cell.value, str):
                    found += [f"{path.name} [{sheet.title}] {cell.coordinate}: {what}: {cell.value!r}"
                              for what, rx in BAD_TEXT if rx.search(cell.value)]
    return found


def report_problems(folder: Path) -> list[str]:
    """Every problem above in the HTML pages and workbooks of a report folder."""
    return ([p for page in sorted(folder.glob("*.html")) for p in html_problems(page)]
            + [p for book in sorted(folder.glob("*.xlsx")) for p in workbook_problems(book)])
