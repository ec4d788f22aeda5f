"""The OpenAPI 3.1 document, built from the routes' own @api metadata so it cannot drift."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "Malformed JSON",
    "401": "Missing or bad bearer token",
    "403": "The caller's role may not do this",
    "404": "Not found, or not entitled",
    "409": "Not possible in the record's current state",
    "413": "Body larger than 1 MiB",
    "422": "Validation failed",
    "429": "Too many attempts",
    "503": "The database cannot be reached just now (code database_unavailable, Retry-After given)",
}


def query(name: str, schema: dict[str, Any], description: str = "", empty_is_absent: bool = False) -> dict[str, Any]:
    """An optional query parameter, for @api(params=...); `empty_is_absent`: name=&... is
    taken as not given (filters a form may leave blank), not refused."""
    parameter = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    return parameter | {"allowEmptyValue": True} if empty_is_absent else parameter


def header(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    """A request header the handler reads, for @api(params=...)."""
    return {"name": name, "in": "header", "required": required, "schema": schema, "description": description}


DATE = {"type": "string", "format": "date"}


def _error(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _content(
    response: type[BaseModel] | str | None, components: dict[str, Any], also: tuple[str, ...] = ()
) -> dict[str, Any]:
    if response is None:
        return {}
    if isinstance(response, str):  # a media type, for files
        return {"content": {response: {"schema": {"type": "string", "format": "binary"}}}}
    # `also`: the same answer in another format the caller may ask for with Accept (CSV).
    return {
        "content": {
            "application/json": {"schema": _schema_ref(response, components)},
            **{media: {"schema": {"type": "string"}} for media in also},
        }
    }


def build(routes: list[BaseRoute]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        meta = getattr(getattr(route, "endpoint", None), "openapi", None)
        if not isinstance(route, Route) or meta is None:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": meta["summary"].splitlines()[0] if meta["summary"] else route.name,
                "operationId": f"{method.lower()}_{route.name}",
                "security": [{"bearer": []}],
                "responses": {
                    str(meta["status"]): {
                        "description": "Success",
                        **_content(meta["response"], components, meta.get("also", ())),
                    },
                    **(
                        {"202": {"description": "Accepted: being prepared", **_content(meta["accepted"], components)}}
                        if meta.get("accepted")
                        else {}
                    ),
                    **{code: _error(text) for code, text in ERROR_STATUSES.items()},
                    **{str(code): _error(text) for code, text in meta["errors"].items()},
                },
            }
            parameters = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in re.findall(r"{(\w+)}", route.path)
            ]
            parameters += meta["params"]
            if parameters:
                operation["parameters"] = parameters
            if meta["body"] is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(meta["body"], components)}},
                }
            paths.setdefault(route.path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "marac API", "version": "1"},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def endpoint(routes: list[BaseRoute]):
    document = build(routes)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return openapi_json
