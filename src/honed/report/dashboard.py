"""optuna-dashboard on a study, behind honed's guard (``honed dashboard``).

optuna-dashboard's API can rename and delete studies, tell trials and write notes, and it has
no authentication. honed serves it with the rules of ``honed serve``:

- a host that is not loopback needs a token (:func:`honed.serve.server.check_host`);
- with a token, every request must present it: ``Authorization: Bearer TOKEN``, or a cookie
  that ``/?token=TOKEN`` sets once, so that a browser can use the dashboard;
- the dashboard is read-only unless ``allow_writes``: any method but GET, HEAD and OPTIONS is
  refused with 403, since the study is the search's own record, which workers may be writing
  while the dashboard is open, and which one click would otherwise delete.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from honed.errors import UserInputError

__all__ = ["DashboardGuard", "dashboard_server", "TOKEN_ENV"]

#: environment variable read for the token when ``--token`` is not given (keeps it out of ps)
TOKEN_ENV = "HONED_DASHBOARD_TOKEN"
_COOKIE = "honed_dashboard"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class DashboardGuard:
    """WSGI middleware: the token check (401) and the read-only rule (403) around ``app``.

    Args:
        app: The WSGI app guarded (optuna-dashboard's bottle app).
        token: The token every request must present, or None for none.
        allow_writes: Let requests that change the study through.
    """

    def __init__(self, app: Callable, *, token: str | None, allow_writes: bool = False):
        self.app = app
        self.token = token.encode() if token else None
        # the cookie holds a digest of the token, so that it never stores the token itself
        self.cookie = (hmac.new(self.token, b"honed dashboard cookie", hashlib.sha256).hexdigest()
                       if self.token else None)
        self.allow_writes = allow_writes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.token is not None:
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            given = [value for key, value in query if key == "token"]
            if given and _same(given[-1].encode(), self.token):
                return self._set_cookie(environ, query, start_response)
            if not given and self._authorized(environ):
                return self._checked(environ, start_response)
            return _answer(start_response, 401, "missing or wrong token: send Authorization: "
                           "Bearer TOKEN, or open /?token=TOKEN once in the browser")
        return self._checked(environ, start_response)

    def _checked(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() in _READS or self.allow_writes:
            return self.app(environ, start_response)
        return _answer(start_response, 403, "honed dashboard is read-only, so that the study "
                       "cannot be changed or deleted from here; restart it with --allow-writes "
                       "to allow that")

    def _authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip().encode(), self.token):
            return True
        try:
            cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        except CookieError:
            return False
        morsel = cookies.get(_COOKIE)
        return morsel is not None and _same(morsel.value.encode(), self.cookie.encode())

    def _set_cookie(self, environ: dict[str, Any], query: list[tuple[str, str]],
                    start_response: Callable) -> Iterable[bytes]:
        rest = urlencode([(key, value) for key, value in query if key != "token"])
        location = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")
                    + (f"?{rest}" if rest else ""))
        # SameSite=Strict: another site's page cannot make the browser send it (no CSRF)
        start_response("303 See Other", [
            ("Location", location or "/"),
            ("Set-Cookie", f"{_COOKIE}={self.cookie}; Path=/; HttpOnly; SameSite=Strict"),
            ("Content-Length", "0")])
        return [b""]


def dashboard_server(storage: str, *, host: str = "127.0.0.1", port: int = 8080,
                     token: str | None = None, allow_writes: bool = False) -> WSGIServer:
    """A bound (not yet serving) HTTP server of optuna-dashboard on ``storage``.

    Call ``serve_forever()`` on it; ``server_port`` is the port (``port=0`` picks a free one).

    Raises:
        UserInputError: A host that is not loopback without a token, optuna-dashboard missing,
            or the address cannot be bound.
    """
    from honed.install import install_hint
    from honed.serve.server import check_host

    check_host(host, token, env=TOKEN_ENV)
    try:
        from optuna_dashboard import wsgi
    except ImportError:
        raise UserInputError("honed dashboard needs optuna-dashboard: "
                             f"{install_hint('dashboard')}") from None
    app = DashboardGuard(wsgi(storage), token=token, allow_writes=allow_writes)
    address = host.strip("[]")
    try:
        family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("DashboardServer", (ThreadingMixIn, WSGIServer),
                            {"address_family": family, "daemon_threads": True})
        return make_server(address, port, app, server_class, _QuietHandler)
    except OSError as error:  # e.g. the port is taken
        raise UserInputError(f"cannot serve on {host}:{port}: {error.strerror or error}"
                             ) from None


class _QuietHandler(WSGIRequestHandler):
    """No line per request: a request line may carry ``?token=``."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


def _same(given: bytes, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(given, expected)


def _answer(start_response: Callable, status: int, reason: str) -> Iterable[bytes]:
    body = json.dumps({"reason": reason}).encode()
    phrase = {401: "Unauthorized", 403: "Forbidden"}[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="honed dashboard"'))
    start_response(f"{status} {phrase}", headers)
    return [body]
