"""The Voila server of `forecast whatif`, answering this machine only: `python -m forecast.whatif.server NOTEBOOK
[Voila options]`.

A page on a foreign name that the attacker's DNS rebinds to 127.0.0.1 (DNS rebinding) sends its own name as
Host, and its websocket sends that name as Origin too, so Host and Origin agree and the Jupyter origin check
passes. Here every request, HTTP or websocket, needs a loopback Host (localhost, 127.0.0.0/8 or [::1], any
port), and a request that carries an Origin needs it to be the same origin as its Host. Jupyter Server's own
check (`allow_remote_access=False` with `local_hostnames`, which Voila turns off) is switched back on as well,
but it covers only Jupyter's handlers: Voila's static files, templates and files are plain tornado handlers,
hence the rule in front of all of them. Bound to a non-loopback address (`--allow-remote`), any Host is
answered, as Jupyter does, and the same-origin rule stays.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from tornado import web
from tornado.routing import Matcher, PathMatches, Rule
from traitlets import Bool
from voila.app import Voila

from .app import READY_PATH

LOCAL_HOSTNAMES = ("localhost",)
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]@/\s]+)(?::\d{1,5})?")


def loopback_host(host: str | None) -> bool:
    """Whether a Host header names this machine: localhost, a loopback IPv4 address or [::1], with or without a
    port.

    >>> [loopback_host(h) for h in ("127.0.0.1:8866", "localhost:8866", "[::1]:8866", "LOCALHOST", "127.0.0.1")]
    [True, True, True, True, True]
    >>> [loopback_host(h) for h in ("evil.example:8866", "127.0.0.1.evil.example", "localhost.", "0.0.0.0", "", None)]
    [False, False, False, False, False, False]
    """
    match = _HOST.fullmatch(host or "")
    if not match:
        return False
    name = match.group(1).lower()
    if name in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(name[1:-1] if name.startswith("[") else name).is_loopback
    except ValueError:
        return False


def refusal(host: str | None, origin: str | None, loopback_only: bool = True) -> str | None:
    """Why a request with this Host and Origin is refused, or None. A request without Origin (a script, a
    navigation) is judged by its Host alone; browsers send Origin on every websocket and cross-origin request.

    >>> refusal("127.0.0.1:8866", "http://127.0.0.1:8866"), refusal("127.0.0.1:8866", None)
    (None, None)
    >>> refusal("evil.example:8866", "http://evil.example:8866")
    "Host 'evil.example:8866' is not this machine"
    >>> refusal("127.0.0.1:8866", "http://localhost:8866")
    "Origin 'http://localhost:8866' is not the page's own (Host '127.0.0.1:8866')"
    """
    if loopback_only and not loopback_host(host):
        return f"Host {host!r} is not this machine"
    if origin is not None:
        parts = urlsplit(origin.strip().lower())
        if parts.scheme not in ("http", "https") or parts.netloc != (host or "").lower():
            return f"Origin {origin!r} is not the page's own (Host {host!r})"
    return None


class _Refused(Matcher):
    """Matches the requests to refuse, so that the rule it is in comes before every handler."""

    def __init__(self, loopback_only: bool):
        self.loopback_only = loopback_only

    def match(self, request):
        return None if _why(request, self.loopback_only) is None else {}


def _why(request, loopback_only: bool) -> str | None:
    return refusal(request.headers.get("Host"), request.headers.get("Origin"), loopback_only)


class RefusedHandler(web.RequestHandler):
    """403 to any method, a websocket handshake included, before anything else runs."""

    def initialize(self, loopback_only: bool = True) -> None:
        self.loopback_only = loopback_only

    def prepare(self):
        web.gen_log.warning("forecast whatif: refused %s %s: %s", self.request.method, self.request.path,
                            _why(self.request, self.loopback_only))
        raise web.HTTPError(403)


def preheated(kernel_manager) -> bool:
    """Whether a preheated kernel has finished running the notebook, so that a page opens at once (True when Voila
    keeps no pool)."""
    pools = getattr(kernel_manager, "_pools", None)
    if not pools:
        return pools is None
    for pool in pools.values():
        for pending in pool:
            if pending.done() and not pending.cancelled() and pending.exception() is None \
                    and pending.result()["task"].done():
                return True
    return False


class ReadyHandler(web.RequestHandler):
    """GET READY_PATH: 200 once a page would open with a preheated kernel, else 503 (`forecast whatif` waits)."""

    def initialize(self, kernel_manager) -> None:
        self.kernel_manager = kernel_manager

    def get(self):
        self.set_header("Cache-Control", "no-store")
        if not preheated(self.kernel_manager):
            self.set_status(503)
        self.finish("ready" if self.get_status() == 200 else "warming up")


class LoopbackVoila(Voila):
    """Voila with the Host and Origin rules above in front of every handler."""

    loopback_only = Bool(True, config=True,
                         help="answer only requests whose Host is this machine (off for a non-loopback --ip)")

    def init_settings(self) -> dict:
        settings = super().init_settings()
        if self.loopback_only:  # Jupyter Server's own Host check, for the handlers that are Jupyter's
            settings.update(allow_remote_access=False, local_hostnames=list(LOCAL_HOSTNAMES))
        return settings

    def listen(self):
        # before Voila's own rules, which match any host (RuleRouter tries its rules in order)
        self.app.default_router.rules.insert(0, Rule(_Refused(self.loopback_only), RefusedHandler,
                                                     {"loopback_only": self.loopback_only}))
        self.app.default_router.rules.insert(1, Rule(PathMatches(READY_PATH), ReadyHandler,
                                                     {"kernel_manager": self.kernel_manager}))
        super().listen()


main = LoopbackVoila.launch_instance

if __name__ == "__main__":
    main()
