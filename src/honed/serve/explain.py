"""``POST /v1/explain``: which inputs moved one prediction, without PyTorch (opt-in).

Off by default; ``honed serve BUNDLE --explain`` turns it on. A bundle is an ONNX model with
no gradients and the server never imports torch, so the method is occlusion, gradient-free:
each input group of the model's kind (:mod:`honed.explain.kinds`: a table column, a one-hot
categorical as one; an image channel or region; a time window) is set to a baseline, all
groups in one ONNX Runtime call, and a group's attribution is how much the explained output
(the predicted class's logit, or output 0) fell: ``f(x) - f(x with the group at baseline)``.

The baseline is the model's input at 0 (a numeric column or channel at its training mean
under standard scaling, no category for a one-hot column), or a black image. A text (one
record of raw strings) is explained per token as ``honed explain``'s ``feature_ablation``
does it: each token deleted in turn (set to padding and the text closed up,
:func:`~honed.explain.token_ids.deletions`), the text and its ``R`` deletions in one call; the
answer also lists the tokens and their scores in the text's order. Limits of its own: one
record per request, and ``explain_timeout_s`` per request (504 past it); the body size limit,
the text length limit and the bearer token are the server's, and a text has at most the
model's ``max_length`` tokens (longer ones are cut, as for predictions). Text beside
table columns gets both in the same call: the text's deletions (the columns kept), then each
column group at 0 (the text kept); ``tokens``/``scores`` as for text, and ``attributions``
ranked over tokens (kind ``token``) and columns (kind ``feature``) together.
"""

# no `from __future__ import annotations`: FastAPI reads the route annotations
import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np

from .payload import (
    FieldError,
    check_inputs,
    check_records,
    check_text_records,
    text_field,
    validation_detail,
)

__all__ = ["EXPLAIN_PATH", "add_explain_route", "occlusion"]

EXPLAIN_PATH = "/v1/explain"


def occlusion(runtime, x: np.ndarray, truncated: np.ndarray | None = None) -> dict[str, Any]:
    """Attribution per input group (per token for text) of one prepared input ``x`` of shape
    ``(1, *shape)``; ``truncated``: for text, whether it was cut to ``max_length`` tokens."""
    mixed = runtime.kind == "text" and bool(runtime.preprocess.get("tabular"))
    if mixed:  # [ids | features]: the text's deletions, then each column at its baseline
        groups, batch, description = _mixed_batch(runtime, x[0])
    elif runtime.kind == "text":
        from honed.explain.kinds.text import BASELINES
        from honed.explain.token_ids import deletions

        groups, description = None, BASELINES["feature_ablation"]
        batch = deletions(x[0])
    else:
        groups, baseline, description = _groups(runtime)
        batch = np.repeat(x.reshape(1, -1), len(groups) + 1, axis=0)
        for row, group in enumerate(groups, start=1):
            batch[row, group.index] = baseline[group.index]
    outputs = runtime.run(batch.reshape(len(batch), *runtime.input_shape))
    outputs = outputs.reshape(len(batch), -1)
    classify = runtime.task == "classification" and runtime.class_names
    target = int(outputs[0].argmax()) if classify else 0
    values = outputs[0, target] - outputs[1:, target]
    prediction = runtime.convert(outputs[:1])
    prediction.truncated = truncated
    answer = {"method": "occlusion", "baseline": description,
              "explained": f"class {runtime.class_names[target]}" if classify else "output 0",
              "prediction": prediction.records()[0]}
    if groups is None:
        return {**answer, **_token_scores(runtime, x[0], values)}
    columns = values[len(values) - len(groups):]
    ranked = sorted(zip(groups, columns, strict=True), key=lambda item: -abs(item[1]))
    attributions = [{"name": g.name, "kind": g.kind, "value": float(v)} for g, v in ranked]
    if not mixed:
        return {**answer, "attributions": attributions}
    offset = int(runtime.preprocess["tabular"]["offset"])
    text = _token_scores(runtime, x[0, :offset].astype(np.int64),
                         values[:len(values) - len(groups)])
    merged = sorted(text["attributions"] + attributions, key=lambda item: -abs(item["value"]))
    return {**answer, **text, "attributions": merged}


def _mixed_batch(runtime, x: np.ndarray) -> tuple[list, np.ndarray, str]:
    """Text beside table columns (:class:`~honed.explain.kinds.mixed.MixedKind`): the input,
    its ``R`` token deletions (the features kept), then each column group at 0."""
    from honed.explain.kinds.mixed import DESCRIPTION, MixedKind
    from honed.explain.token_ids import deletions

    offset = int(runtime.preprocess["tabular"]["offset"])
    groups = MixedKind().groups(SimpleNamespace(preprocess=runtime.preprocess))
    texts = deletions(x[:offset]).astype(np.float32)
    batch = np.concatenate([texts, np.repeat(x[None, offset:], len(texts), axis=0)], axis=1)
    columns = np.repeat(x[None], len(groups), axis=0)
    for row, group in enumerate(groups):
        columns[row, group.index] = 0.0
    return groups, np.concatenate([batch, columns]), DESCRIPTION


def _groups(runtime) -> tuple[list, np.ndarray, str]:
    """The kind's input groups, the flat baseline input and its description."""
    from honed.explain.kinds import input_kind

    kind = input_kind(runtime.kind)
    view = SimpleNamespace(input_shape=runtime.input_shape, preprocess=runtime.preprocess,
                           feature_names=runtime.preprocess.get("feature_names"))
    if runtime.kind == "image":
        base = kind.baseline(view)
        return kind.groups(view), base.values.reshape(-1), base.description
    return (kind.groups(view), np.zeros(int(np.prod(runtime.input_shape)), dtype=np.float32),
            "the model's input at 0 (the training mean under standard scaling)")


def _token_scores(runtime, ids: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """``tokens`` and ``scores`` in the text's order (as ``honed explain`` writes a row), and
    ``attributions`` ranked by absolute value, each token with its ``position``."""
    from honed.explain.text_figure import token_rows
    from honed.explain.token_ids import token_strings

    scores = np.zeros(ids.shape, dtype=np.float64)
    scores[ids != 0] = values
    (row,) = token_rows(token_strings(ids[None], runtime.preprocess["tokenizer"]), scores[None])
    order = sorted(range(len(row["scores"])), key=lambda i: -abs(row["scores"][i]))
    return {**row, "attributions": [{"name": row["tokens"][i], "kind": "token", "position": i,
                                     "value": row["scores"][i]} for i in order]}


def add_explain_route(app, runtime, settings) -> None:
    """Register ``POST /v1/explain`` on the FastAPI ``app`` (called only when it is on)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from honed.errors import DataError

    from .schemas import PredictRequest, error_responses

    def prepare(raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
        request = PredictRequest.model_validate_json(raw)
        if runtime.kind == "text":
            text_field("records" if request.records is not None else "inputs",
                       runtime.preprocess)
            _one(request.records, "records")
            return runtime.prepare_cut(check_text_records(
                request.records, runtime.preprocess, max_chars=settings.max_text_chars))
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
        return runtime.prepare(payload), None

    @app.post(EXPLAIN_PATH, responses=error_responses())
    async def explain(request: Request):
        """Occlusion attributions of one record, input or text (on with ``honed serve
        --explain``)."""
        from pydantic import ValidationError

        try:
            x, truncated = prepare(await request.body())
            answer = await asyncio.wait_for(asyncio.to_thread(occlusion, runtime, x, truncated),
                                            settings.explain_timeout_s)
        except ValidationError as error:
            return JSONResponse({"detail": validation_detail(error.errors())}, status_code=422)
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
