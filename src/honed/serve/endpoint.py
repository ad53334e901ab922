"""``POST /v1/predict`` as a lean ASGI handler in front of FastAPI.

For a small model, FastAPI's request machinery (routing, dependency solving, response
encoding) costs more CPU than the prediction itself, so the server answers this one hot path
here: the body (already read and size-checked by :class:`~honed.serve.limits.LimitsMiddleware`)
is decoded (JSON or ``.npy``, :mod:`honed.serve.body`), checked field by field, queued on the
micro-batcher, and the answer, encoded by orjson, is written as two ASGI messages. FastAPI
still documents the endpoint in OpenAPI, and its route calls the same :meth:`answer`.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from honed.errors import DataError

from .batcher import BatcherClosed, MicroBatcher, QueueFull, RequestTimeout
from .body import decode_body
from .limits import json_response
from .metrics import ServeMetrics
from .payload import (
    FieldError,
    check_inputs,
    check_records,
    check_text_records,
    text_field,
    validation_detail,
)

__all__ = ["PredictEndpoint", "PREDICT_PATH"]

PREDICT_PATH = "/v1/predict"
_JSON = [(b"content-type", b"application/json")]


class PredictEndpoint:
    """Answers ``POST /v1/predict``; every other request goes on to ``app`` (FastAPI).

    Args:
        app: The ASGI app for everything else.
        runtime: Anything with ``predict_many``, ``preprocess`` and ``kind``.
        batcher: The started micro-batcher whose ``fn`` is ``runtime.predict_many``.
        settings: The server's :class:`~honed.serve.app.ServeSettings`.
        metrics: Where 503 and 504 refusals are counted.
        name: The model name echoed in answers.
    """

    def __init__(self, app, runtime, batcher: MicroBatcher, settings, metrics: ServeMetrics,
                 name: str | None):
        self.app, self.runtime, self.batcher = app, runtime, batcher
        self.settings, self.metrics, self.name = settings, metrics, name

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != PREDICT_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await json_response(send, 405, "Method Not Allowed", headers=[(b"allow", b"POST")])
            return
        message = await receive()  # the whole body, buffered by LimitsMiddleware
        status, body, headers = await self.answer(message.get("body", b""),
                                                  _content_type(scope))
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_JSON, (b"content-length", str(len(body)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": body})

    async def answer(self, raw: bytes, content_type: str | None = None
                     ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """The status, JSON body and extra headers of the answer to one request body (JSON,
        or ``.npy`` when ``content_type`` says ``application/x-npy``)."""
        try:
            payload = self._payload(*decode_body(raw, content_type))
            predictions = await self.batcher.submit(payload, len(payload))
        except ValidationError as error:
            return 422, _dump({"detail": validation_detail(error.errors())}), []
        except FieldError as error:
            return 422, _dump({"detail": error.detail()}), []
        except DataError as error:
            return 422, _dump({"detail": [{"loc": ["body"], "msg": str(error),
                                           "type": "value_error"}]}), []
        except (QueueFull, BatcherClosed):
            self.metrics.rejected["queue_full"] += 1
            return 503, _dump({"detail": "server busy; retry shortly"}), [(b"retry-after",
                                                                            b"1")]
        except RequestTimeout:
            self.metrics.rejected["timeout"] += 1
            return 504, _dump({"detail": "prediction took longer than "
                                         f"{self.settings.timeout_s:g} s"}), []
        return 200, _dump({"predictions": predictions, "model": self.name}), []

    def _payload(self, field: str, items: Any) -> Any:
        most = self.settings.max_records
        if self.runtime.kind == "text":
            text_field(field, self.runtime.preprocess)
            _check_count(items, "records", most)
            return check_text_records(items, self.runtime.preprocess,
                                      max_chars=self.settings.max_text_chars)
        if field == "records":
            if self.runtime.kind != "table":
                raise FieldError(["body", "records"], "this model takes arrays: send 'inputs' "
                                 f"shaped {list(self.runtime.preprocess['input_shape'])}")
            _check_count(items, "records", most)
            return check_records(items, self.runtime.preprocess)
        _check_count(items, "inputs", most)
        return check_inputs(items, self.runtime.preprocess)


def _content_type(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1")
    return None


def _check_count(items: Any, field: str, most: int) -> None:
    if len(items) == 0:  # a list, or an array from a .npy body
        raise FieldError(["body", field], "must hold at least one item")
    if len(items) > most:
        raise FieldError(["body", field], f"at most {most} items per request; got {len(items)}")


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)
