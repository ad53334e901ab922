"""``POST /v1/explain``: which inputs moved one prediction, without PyTorch (opt-in).

Off by default; ``honed serve BUNDLE --explain`` turns it on. A bundle is an ONNX model with
no gradients and the server never imports torch, so the method is occlusion, gradient-free:
each input group of the model's kind (:mod:`honed.explain.kinds`: a table column, a one-hot
categorical as one; an image channel or region; a time window) is set to a baseline, all
groups in one ONNX Runtime call, and a group's attribution is how much the explained output
(the predicted class's logit, or output 0) fell: ``f(x) - f(x with the group at baseline)``.

The baseline is the model's input at 0 (a numeric column or channel at its training mean
under standard scaling, no category for a one-hot column), or a black image. Limits of its
own: one record per request, and ``explain_timeout_s`` per request (504 past it); the body
size limit and the bearer token are the server's.

Text models are refused (422, one line): their attributions are per token, which this
route's groups do not describe; ``honed explain RUN_DIR TEXTS`` explains them.
"""

# no `from __future__ import annotations`: FastAPI reads the route annotations
import asyncio
import json
from types import SimpleNamespace
from typing import Any

import numpy as np

from .payload import FieldError, check_inputs, check_records

__all__ = ["EXPLAIN_PATH", "add_explain_route", "occlusion", "check_explainable"]

EXPLAIN_PATH = "/v1/explain"


def check_explainable(kind: str) -> None:
    """Refuse the kinds this route cannot explain (text), naming what does.

    Raises:
        FieldError: One line, answered as a 422.
    """
    if kind == "text":
        raise FieldError(["body"], "/v1/explain does not explain text models; run `honed "
                         "explain RUN_DIR TEXTS` for per-token attributions")


def occlusion(runtime, x: np.ndarray) -> dict[str, Any]:
    """Attribution per input group of one prepared input ``x`` of shape ``(1, *shape)``."""
    from honed.explain.kinds import input_kind

    check_explainable(runtime.kind)
    kind = input_kind(runtime.kind)
    view = SimpleNamespace(input_shape=runtime.input_shape, preprocess=runtime.preprocess,
                           feature_names=runtime.preprocess.get("feature_names"))
    groups = kind.groups(view)
    if runtime.kind == "image":
        base = kind.baseline(view)
        baseline, description = base.values.reshape(-1), base.description
    else:
        baseline = np.zeros(int(np.prod(runtime.input_shape)), dtype=np.float32)
        description = "the model's input at 0 (the training mean under standard scaling)"
    batch = np.repeat(x.reshape(1, -1), len(groups) + 1, axis=0)
    for row, group in enumerate(groups, start=1):
        batch[row, group.index] = baseline[group.index]
    outputs = runtime.run(batch.reshape(len(batch), *runtime.input_shape))
    outputs = outputs.reshape(len(batch), -1)
    classify = runtime.task == "classification" and runtime.class_names
    target = int(outputs[0].argmax()) if classify else 0
    values = outputs[0, target] - outputs[1:, target]
    ranked = sorted(zip(groups, values, strict=True), key=lambda item: -abs(item[1]))
    return {"method": "occlusion", "baseline": description,
            "explained": f"class {runtime.class_names[target]}" if classify else "output 0",
            "prediction": runtime.convert(outputs[:1]).records()[0],
            "attributions": [{"name": g.name, "kind": g.kind, "value": float(v)}
                             for g, v in ranked]}


def add_explain_route(app, runtime, settings) -> None:
    """Register ``POST /v1/explain`` on the FastAPI ``app`` (called only when it is on)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from honed.errors import DataError

    from .schemas import PredictRequest, error_responses

    def prepare(raw: bytes) -> np.ndarray:
        request = PredictRequest.model_validate_json(raw)
        if request.records is not None:
            if runtime.kind != "table":
                raise FieldError(["body", "records"], "this model takes arrays: send 'inputs'")
            _one(request.records, "records")
            payload = check_records(request.records, runtime.preprocess)
        else:
            inputs = request.inputs
            shaped = np.asarray(inputs, dtype=object).ndim if inputs is not None else 0
            one_sample = len(runtime.input_shape) if runtime.kind != "table" else 1
            _one(inputs if shaped > one_sample else [inputs], "inputs")
            payload = check_inputs(inputs, runtime.preprocess)
        return runtime.prepare(payload)

    @app.post(EXPLAIN_PATH, responses=error_responses())
    async def explain(request: Request):
        """Occlusion attributions of one record or input (on with ``honed serve --explain``)."""
        from pydantic import ValidationError

        try:
            check_explainable(runtime.kind)
            x = prepare(await request.body())
            answer = await asyncio.wait_for(asyncio.to_thread(occlusion, runtime, x),
                                            settings.explain_timeout_s)
        except ValidationError as error:
            return JSONResponse({"detail": json.loads(error.json())[:10]}, status_code=422)
        except FieldError as error:
            return JSONResponse({"detail": error.detail()}, status_code=422)
        except DataError as error:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": str(error),
                                             "type": "value_error"}]}, status_code=422)
        except TimeoutError:
            return JSONResponse({"detail": "explanation took longer than "
                                 f"{settings.explain_timeout_s:g} s"}, status_code=504)
        return answer


def _one(items, field: str) -> None:
    if items is None or len(items) != 1:
        count = 0 if items is None else len(items)
        raise FieldError(["body", field], f"/v1/explain takes exactly one {field[:-1]}; got "
                         f"{count}")
