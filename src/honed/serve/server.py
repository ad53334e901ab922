"""``honed serve``: the app on uvicorn with safe defaults.

- Binds 127.0.0.1 unless told otherwise; a host that is not loopback needs a token, since
  the API would otherwise be open to the network.
- Connections are guarded below the app (:mod:`honed.serve.guard`): a request head must
  arrive within ``--header-timeout``, at most ``--max-connections`` are open at once, and
  repeated log lines are rate-limited (:mod:`honed.serve.lograte`).
- SIGTERM and Ctrl-C stop accepting connections, end the batcher's gathering window, let
  in-flight requests finish (up to the request timeout plus a margin), then drain the batcher
  and exit.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import os
import socket
from pathlib import Path

from honed.errors import UserInputError

from .app import ServeSettings, create_app, import_fastapi
from .guard import default_max_connections, guarded_protocol
from .lograte import rate_limit_logs

__all__ = ["serve", "check_host", "TOKEN_ENV"]

#: environment variable read for the token when ``--token`` is not given (keeps it out of ps)
TOKEN_ENV = "HONED_SERVE_TOKEN"


def check_host(host: str, token: str | None, *, env: str = TOKEN_ENV) -> None:
    """Refuse a non-loopback ``host`` without a token (one line, exit 2); ``env`` is the
    variable the message names (``honed dashboard`` has its own)."""
    if _is_loopback(host):
        return
    if not token:
        raise UserInputError(f"--host {host} is reachable from other machines; pass --token "
                             f"(or set {env}) so every request must present it")


def serve(bundle: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          settings: ServeSettings | None = None, threads: int | None = None,
          log_level: str = "info", ready=None) -> None:
    """Serve the bundle over HTTP until SIGTERM or Ctrl-C.

    Every check (host, token, bundle files and hashes, the child-process probe of the model)
    runs before the port is bound, so a bad bundle exits with one line and no server.

    Args:
        bundle: Folder holding ``model.onnx``, ``preprocess.json`` and ``card.json``.
        host: Address to bind; loopback by default.
        port: TCP port (0 picks a free one).
        settings: Limits, token and batching.
        threads: ONNX Runtime intra-op threads (None: its default).
        log_level: uvicorn's log level.
        ready: Called with the bound port once the server accepts connections.
    """
    import_fastapi()
    import uvicorn

    from .runtime import load_runtime

    settings = settings or ServeSettings()
    if settings.token is None and os.environ.get(TOKEN_ENV):
        settings.token = os.environ[TOKEN_ENV]
    check_host(host, settings.token)
    if not 0 <= port <= 65535:
        raise UserInputError(f"--port must be in 0..65535; got {port}")
    runtime = load_runtime(bundle, threads=threads)
    runtime.warm_up()
    sock = _bind(host, port)  # before uvicorn starts, so a taken port is one clear line
    app = create_app(runtime, settings)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on",
                            access_log=False, server_header=False,
                            # uvicorn's X-Forwarded-* rewrite of the client address runs on
                            # every request, and nothing here logs or reads that address
                            proxy_headers=False,
                            timeout_graceful_shutdown=int(settings.timeout_s) + 5,
                            timeout_keep_alive=settings.keep_alive_s, http=_protocol(settings),
                            backlog=_backlog(settings))
    rate_limit_logs()  # after uvicorn's Config, which sets up its loggers
    server = _make_server(config, ready)
    # Everything loaded so far lives as long as the server: keep it out of the cyclic
    # collector's full passes, which otherwise stall every request for tens of milliseconds.
    gc.collect()
    gc.freeze()
    server.run(sockets=[sock])


def _protocol(settings: ServeSettings) -> type:
    """uvicorn's HTTP protocol with the guard: ``settings.http`` names it; "auto" takes
    httptools when installed (several times faster per request than h11), else h11."""
    if settings.http == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    elif settings.http == "httptools":
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
        except ImportError:
            from honed.install import install_hint

            raise UserInputError(f"--http httptools needs httptools: {install_hint('serve')}"
                                 ) from None
    elif settings.http == "auto":
        from uvicorn.protocols.http.auto import AutoHTTPProtocol as base
    else:
        raise UserInputError(f"--http must be auto, h11 or httptools; got {settings.http!r}")
    most = settings.max_connections or default_max_connections()
    return guarded_protocol(base, header_timeout=settings.header_timeout_s,
                            max_connections=most)


def _backlog(settings: ServeSettings) -> int:
    # asyncio accepts up to `backlog` connections in one go, before the guard sees them
    return max(16, min(2048, (settings.max_connections or default_max_connections()) // 2))


def _make_server(config, ready):
    """uvicorn's server that reports its port once it listens and exits 0 after a graceful
    stop (uvicorn itself re-raises SIGTERM/SIGINT, so the process would die by the signal)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                captured = getattr(self, "_captured_signals", None)
                if isinstance(captured, list):
                    captured.clear()

        async def shutdown(self, sockets=None):
            # in-flight requests need not wait out a gathering window before the drain
            batcher = getattr(self.config.app, "batcher", None)
            if batcher is not None:
                batcher.flush()
            await super().shutdown(sockets)

        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started and ready is not None:
                ready(self.servers[0].sockets[0].getsockname()[1])

    return Server(config)


def _bind(host: str, port: int) -> socket.socket:
    address = host.strip("[]")
    try:
        family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[0][0]
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY on accepted connections only
        # when the protocol says TCP, and without it every answer waits on delayed ACKs
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError as error:
        raise UserInputError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                             ) from None
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
