"""``/docs`` that works offline, and a request example made from the served model.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, so it is blank without internet, and the
page would show whatever example the schema was written with. Here the Swagger UI files come
from the ``fastapi-offline`` package (in the ``serve`` extra) and are served by the server
itself under ``/docs/assets/``; without that package ``/docs`` is a plain page listing the
endpoints. Either way the example request is built from the bundle: its own columns (tables)
or its own input shape (arrays).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["request_example", "add_docs", "swagger_assets"]

ASSETS = "/docs/assets"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def request_example(metadata: Mapping[str, Any], preprocess: Mapping[str, Any]) -> dict:
    """A valid ``POST /v1/predict`` body for this model: one record or one array of zeros.

    Table models get one record by column name, numeric columns at the value the model
    imputes (the training median) and categorical ones at their first category; text models
    one sentence per text column (and any table columns beside the text as a table's).
    """
    schema = metadata["input"]
    if schema["kind"] == "text":
        return {"records": [{**{column["name"]: "A moving, beautifully acted film."
                                for column in schema["columns"] if column["type"] == "text"},
                             **_table_record((preprocess.get("tabular") or {})
                                             .get("columns", []))}]}
    if schema["kind"] == "table":
        return {"records": [_table_record(preprocess["columns"])]}

    def zeros(shape):
        return [zeros(shape[1:]) for _ in range(shape[0])] if shape else 0.0

    return {"inputs": [zeros(list(schema["shape"]))]}


def _table_record(columns: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Numeric columns at the value the model imputes, categorical at their first category."""
    record = {}
    for column in columns:
        if column["type"] == "numeric":
            value = column.get("impute")
            record[column["name"]] = round(float(value), 4) if value is not None else 0.0
        else:
            categories = column.get("categories") or [""]
            record[column["name"]] = categories[0]
    return record


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files from ``fastapi-offline``, or None without it."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if all((folder / name).is_file() for name in _FILES) else None


def add_docs(app, *, title: str, example: dict, paths: list[tuple[str, str, str]]) -> None:
    """Add ``GET /docs`` (and its assets) to a FastAPI ``app`` built with ``docs_url=None``.

    Args:
        app: The FastAPI app.
        title: The page title.
        example: The example request body shown on the page.
        paths: ``(method, path, summary)`` of each endpoint, for the plain page.
    """
    from fastapi import HTTPException
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse

    folder = swagger_assets()

    @app.get("/docs", include_in_schema=False)
    async def docs():
        if folder is None:
            return HTMLResponse(_plain_page(title, example, paths))
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None})  # no call to an online validator

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def asset(name: str):
        if folder is None or name not in _FILES:  # a fixed list: no path from the request
            raise HTTPException(404)
        return FileResponse(folder / name, media_type=_TYPES[Path(name).suffix],
                            headers={"cache-control": "max-age=86400"})


def _plain_page(title: str, example: dict, paths: list[tuple[str, str, str]]) -> str:
    rows = "".join(f"<li><code>{html.escape(m)} {html.escape(p)}</code> {html.escape(s)}</li>"
                   for m, p, s in paths)
    from honed.install import install_hint

    body = html.escape(json.dumps(example, indent=1))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1><ul>{rows}</ul>"
            f"<h2>Example request to <code>POST /v1/predict</code></h2><pre>{body}</pre>"
            "<p>The full schema: <a href='/openapi.json'>/openapi.json</a>. For the "
            f"interactive page: <code>{html.escape(install_hint('serve'))}</code>.</p>"
            "</body></html>")
