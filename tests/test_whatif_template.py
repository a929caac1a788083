"""The packaged Voila template removes exactly the CDN stylesheets Voila's lab template links (no browser needed):
if a Voila release changes that markup, this fails here rather than letting the page reach a CDN again."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_core.paths import jupyter_path

from forecast.whatif.app import JUPYTER_DATA


def test_the_forecast_template_strips_every_external_link_of_voilas_lab_template():
    ours = (JUPYTER_DATA / "voila" / "templates" / "forecast" / "index.html.j2").read_text(encoding="utf-8")
    base = re.search(r"set fontawesome = '([^']+)'", ours).group(1)
    stripped = [base + tail for tail in re.findall(r"fontawesome ~ '([^']+)'", ours)]
    (lab,) = [Path(d) / "index.html.j2" for d in jupyter_path("voila", "templates", "lab")
              if (Path(d) / "index.html.j2").is_file()][:1]
    text = lab.read_text(encoding="utf-8")
    external = re.findall(r"<link[^>]*https?://[^>]*>", text)
    assert external and sorted(external) == sorted(stripped)
    for link in stripped:
        assert text.count(link) == 1
