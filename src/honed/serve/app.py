"""The HTTP API over a :class:`~honed.serve.runtime.Runtime`: FastAPI, micro-batched.

``POST /v1/predict`` takes ``{"records": [{column: value, ...}, ...]}`` (table models; for
text models, raw strings by text column: ``{"records": [{"review": "..."}]}``) or
``{"inputs": [...]}`` (arrays of the model's input shape, or rows in column order for a
table), or one ``.npy`` array as ``application/x-npy``; ``GET /v1/metadata`` describes the model; ``GET /health`` and ``GET /metrics``
(Prometheus text) serve operations; ``/docs`` (offline, see :mod:`honed.serve.docs`) and
``/openapi.json`` document it all, with an example made from the served model. No endpoint
takes a file path or a URL.
"""

# no `from __future__ import annotations`: FastAPI reads the route annotations, and they
# name classes imported inside create_app
import inspect
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .batcher import MicroBatcher
from .body import NPY_TYPE
from .docs import add_docs, request_example
from .endpoint import PREDICT_PATH, PredictEndpoint
from .limits import LimitsMiddleware
from .metrics import MetricsMiddleware, ServeMetrics
from .payload import validation_detail
from .schemas import MetadataResponse, PredictRequest, PredictResponse, error_responses

__all__ = ["ServeSettings", "create_app", "import_fastapi"]


@dataclass
class ServeSettings:
    """Limits and batching of one server (the ``honed serve`` options)."""

    token: str | None = None
    max_body_bytes: int = 1 << 20
    max_records: int = 1024
    max_text_chars: int = 100_000  # text models: longest text per column of a record
    max_batch: int = 64
    # 0: a batch is whatever queued while the previous one ran. A gathering window leaves the
    # event loop idle once every connection waits on it: at 64 connections on the digits CNN
    # a 2 ms window halved the requests/s and doubled p99 (bench/serve_wrk.py)
    window_ms: float = 0.0
    max_queue: int = 2048
    timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int | None = None  # None: below the open-file limit, at most 1024
    explain: bool = False  # POST /v1/explain (honed.serve.explain), off unless asked for
    explain_timeout_s: float = 5.0
    http: str = "auto"  # uvicorn's HTTP parser: httptools when installed ("auto"), or "h11"


def import_fastapi():
    """``fastapi``, or a one-line error naming the extra to install."""
    try:
        import fastapi
        import orjson  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from honed.errors import UserInputError
        from honed.install import install_hint

        raise UserInputError("serving needs FastAPI, uvicorn and orjson: "
                             f"{install_hint('serve')}") from None
    return fastapi


def create_app(runtime, settings: ServeSettings | None = None, *,
               metrics: ServeMetrics | None = None):
    """The ASGI app serving ``runtime``: FastAPI wrapped in the metrics and limits middleware.

    Args:
        runtime: A :class:`~honed.serve.runtime.Runtime` (or anything with its
            ``predict_many``, ``metadata``, ``preprocess`` and ``kind``).
        settings: Limits and batching; defaults to :class:`ServeSettings`.
        metrics: Counters to update (a fresh :class:`ServeMetrics` by default).

    Returns:
        The ASGI app; its ``.fastapi`` attribute is the FastAPI app inside.
    """
    fastapi = import_fastapi()
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse, Response

    settings = settings or ServeSettings()
    metrics = metrics or ServeMetrics()
    batcher = MicroBatcher(runtime.predict_many, max_batch=settings.max_batch,
                           window_ms=settings.window_ms, max_queue=settings.max_queue,
                           timeout_s=settings.timeout_s, on_batch=metrics.observe_batch)
    meta = runtime.metadata()

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.close()  # in-flight requests finish before the process exits

    options: dict[str, Any] = {}
    if "telemetry" in inspect.signature(fastapi.FastAPI).parameters:
        # FastAPI's own OpenTelemetry hooks cost more than the rest of a request here;
        # /metrics already counts what matters
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False,
                                "operation_spans": False}
    title = f"honed: {meta.get('name') or 'model'}"
    app = fastapi.FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None,
                          version=str((meta.get("versions") or {}).get("honed", "")),
                          description="Predictions from a honed bundle.", **options)
    example = request_example(meta, runtime.preprocess)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        # only where and what: the default echoes the input back, which may be large
        return JSONResponse({"detail": validation_detail(exc.errors(), within=())},
                            status_code=422)

    @app.exception_handler(Exception)
    async def failed(request, exc: Exception):
        # the traceback goes to the log (uvicorn prints it); the client gets one line
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)

    @app.post(PREDICT_PATH, response_model=PredictResponse, responses=error_responses(),
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PredictRequest.model_json_schema(),
                                       "example": example},
                  NPY_TYPE: {"schema": {"type": "string", "format": "binary",
                                        "description": "one array written by numpy.save, "
                                        "shaped (N, *input shape), integers or floats"}}}}})
    async def predict(request: Request):
        """Predict classes and probabilities, or values, for records or arrays."""
        # the server answers this path in PredictEndpoint, in front of FastAPI; this route
        # documents it and gives the same answer when the FastAPI app is used on its own
        status, body, headers = await endpoint.answer(await request.body(),
                                                      request.headers.get("content-type"))
        return Response(body, status_code=status, media_type="application/json",
                        headers={k.decode(): v.decode() for k, v in headers})

    @app.get("/v1/metadata", response_model=MetadataResponse)
    async def metadata():
        """The model's input schema, classes, metrics and versions."""
        return meta

    @app.get("/health")
    async def health():
        """Liveness: the model is loaded and the server answers."""
        return {"status": "ok", "model": meta.get("name")}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus():
        """Prometheus text: requests, latency histogram, batch sizes, errors."""
        metrics.queue_rows = batcher.queued_rows
        return PlainTextResponse(metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    if settings.explain:
        from .explain import add_explain_route

        add_explain_route(app, runtime, settings)
    add_docs(app, title=title, example=example, paths=[
        ("POST", PREDICT_PATH, "predictions"), ("GET", "/v1/metadata", "the model's inputs"),
        ("GET", "/health", "liveness"), ("GET", "/metrics", "Prometheus text")])
    endpoint = PredictEndpoint(app, runtime, batcher, settings, metrics, meta.get("name"))
    wrapped = MetricsMiddleware(
        LimitsMiddleware(endpoint, max_body_bytes=settings.max_body_bytes, token=settings.token,
                         body_timeout=settings.body_timeout_s), metrics)
    wrapped.fastapi = app
    wrapped.batcher = batcher
    return wrapped

