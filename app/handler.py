"""A route's handler with its dependencies resolved once, at start, instead of per request.

FastAPI's own handler walks the dependency tree on every request and asks each node the same
questions each time (is it a generator? what is its cache key? which scopes does it use? which
cookies, headers and query parameters does it take?), then re-validates the response model the
endpoint just built. On the segment read that was a quarter of the service's CPU (measured with
bench/throughput.py: about 0.2 ms of 0.75 ms per request).

Here the tree is flattened into plain nodes when the route is built, and a request does only
what it needs: each node's declared path, query and header parameters and the body are
validated by FastAPI's own functions (`request_params_to_args`, `request_body_to_args`), so the
errors, their order and their locations are FastAPI's exactly; a dependency used twice runs
once, as FastAPI caches it. The response is serialised with FastAPI's `serialize_response`.

Routes this cannot compile (a generator dependency, a sync one, cookies, background tasks,
security scopes, overridden dependencies, a streamed response) keep FastAPI's handler: `compile`
returns None, and a test asserts that every /v1 route compiles, so an upgrade that changes the
shape is seen at once, not as a silent slow-down.
"""

import copy
import inspect
import json
import types
import typing
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi._compat import Undefined
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, Json

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _is_async(call: Any) -> bool:
    if inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call):
        return False
    if inspect.iscoroutinefunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004 — an instance with async __call__
    return not inspect.isclass(call) and dunder is not None and inspect.iscoroutinefunction(dunder)


def _plain(annotation: Any) -> bool:
    """A type read as one value from one key: no sequence, set or model, nor a union of one."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _plain(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return all(_plain(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return True
    if origin is not None:
        return False
    collection = isinstance(annotation, type) and issubclass(annotation, (Sequence, set, frozenset))
    model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation in (str, bytes) or not (collection or model)


@dataclass(frozen=True)
class _Param:
    """A path, query or header parameter. A plain one that is present is validated here as
    FastAPI would (`field.validate` at location (where, key)); an absent one, or any other
    kind, goes through FastAPI's `request_params_to_args` (defaults, missing, lists, models)."""

    field: Any
    where: str
    key: str | None
    optional: bool

    def read(self, given: Mapping[str, Any], values: dict[str, Any], errors: list[Any]) -> bool:
        raw = given.get(self.key) if self.key is not None else None
        if raw is None and self.key is not None and self.optional:
            values[self.field.name] = copy.deepcopy(self.field.default)
            return True
        if raw is None:
            found, failed = request_params_to_args([self.field], given)
            values.update(found)
        else:
            value, failed = self.field.validate(raw, values, loc=(self.where, self.key))
            if not failed:
                values[self.field.name] = value
        if failed:
            errors.extend(failed)
            return False
        return True


def _param(field: Any) -> _Param:
    info = field.field_info
    alias = getattr(field, "validation_alias", None) or field.alias
    plain = (
        isinstance(alias, str)
        and (info.validation_alias is None or isinstance(info.validation_alias, str))
        and not any(type(item) is Json for item in info.metadata)
        and _plain(info.annotation)
    )
    optional = not info.is_required() and not info.validate_default
    return _Param(field, info.in_.value, alias if plain else None, optional)


@dataclass(frozen=True)
class _Node:
    call: Callable[..., Coroutine[Any, Any, Any]]
    name: str | None
    use_cache: bool
    needs: tuple["_Node", ...]
    path: tuple[_Param, ...]
    query: tuple[_Param, ...]
    header: tuple[_Param, ...]
    request_names: tuple[str, ...]
    response_name: str | None


def _node(dependant: Dependant) -> _Node | None:
    if (
        dependant.call is None
        or not _is_async(dependant.call)
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
        or dependant.scope == "function"
        or dependant.concurrency is not None
    ):
        return None
    needs = [_node(sub) for sub in dependant.dependencies]
    if any(need is None for need in needs):
        return None
    return _Node(
        call=dependant.call,
        name=dependant.name,
        use_cache=dependant.use_cache,
        needs=tuple(need for need in needs if need is not None),
        path=tuple(_param(field) for field in dependant.path_params),
        query=tuple(_param(field) for field in dependant.query_params),
        header=tuple(_param(field) for field in dependant.header_params),
        request_names=tuple(
            name
            for name in (dependant.request_param_name, dependant.http_connection_param_name)
            if name
        ),
        response_name=dependant.response_param_name,
    )


class _Solving:
    """One request's dependency values: each dependency runs at most once (FastAPI's cache),
    and every parameter error is collected, in FastAPI's order, before any is reported."""

    def __init__(self, request: Request, response: Response) -> None:
        self.request = request
        self.response = response
        self.cache: dict[Any, Any] = {}
        self.errors: list[Any] = []

    async def values(self, node: _Node) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        failed = False
        for need in node.needs:
            if need.use_cache and need.call in self.cache:
                solved = self.cache[need.call]
            else:
                arguments = await self.values(need)
                if arguments is None:
                    failed = True
                    continue
                solved = await need.call(**arguments)
                self.cache.setdefault(need.call, solved)
            if need.name is not None:
                values[need.name] = solved
        request = self.request
        for params, given in (
            (node.path, request.path_params if node.path else None),
            (node.query, request.query_params if node.query else None),
            (node.header, request.headers if node.header else None),
        ):
            read: dict[str, Any] = {}
            for param in params:
                if not param.read(given, read, self.errors):  # type: ignore[arg-type]
                    failed = True
            values.update(read)
        for name in node.request_names:
            values[name] = request
        if node.response_name:
            values[node.response_name] = self.response
        return None if failed else values


def compile_handler(route: Any) -> Handler | None:
    """The handler of an APIRoute (or FastAPI's per-inclusion copy of one), or None where the
    route needs something only FastAPI's own handler does."""
    dependant: Dependant = route.dependant
    if (
        (
            route.dependency_overrides_provider is not None
            and getattr(route.dependency_overrides_provider, "dependency_overrides", None)
        )
        or getattr(route, "is_json_stream", False)
        or getattr(route, "stream_item_field", None)
    ):
        return None
    endpoint = _node(
        Dependant(
            path_params=dependant.path_params,
            query_params=dependant.query_params,
            header_params=dependant.header_params,
            cookie_params=dependant.cookie_params,
            dependencies=dependant.dependencies,
            call=dependant.call,
            request_param_name=dependant.request_param_name,
            response_param_name=dependant.response_param_name,
            background_tasks_param_name=dependant.background_tasks_param_name,
            security_scopes_param_name=dependant.security_scopes_param_name,
            websocket_param_name=dependant.websocket_param_name,
            http_connection_param_name=dependant.http_connection_param_name,
        )
    )
    if endpoint is None:
        return None
    body_params = list(dependant.body_params)
    body_field = route.body_field
    if body_params and body_field is None:
        return None
    embed: bool = route._embed_body_fields
    status_code: int | None = route.status_code
    response_field = route.response_field
    response_class = route.response_class
    dump_json = response_field is not None and isinstance(response_class, DefaultPlaceholder)
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    options = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }

    async def handler(request: Request) -> Response:
        body: Any = Undefined
        if body_field is not None:
            # The request's owner has refused any body that is not JSON already.
            try:
                if await request.body():
                    body = await request.json()
            except json.JSONDecodeError as exc:
                error = {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
                raise RequestValidationError([error], body=exc.doc) from exc
            except HTTPException:
                raise
            except Exception as exc:
                raise HTTPException(400, "There was an error parsing the body") from exc
        headers_out = Response()
        del headers_out.headers["content-length"]
        headers_out.status_code = None  # type: ignore[assignment]
        solving = _Solving(request, headers_out)
        values = await solving.values(endpoint)
        if body_params:
            found, errors = await request_body_to_args(body_params, body, embed)
            if values is not None:
                values.update(found)
            solving.errors.extend(errors)
        if solving.errors or values is None:
            raise RequestValidationError(solving.errors, body=None if body is Undefined else body)
        raw = await endpoint.call(**values)
        if isinstance(raw, Response):
            return raw
        content = await serialize_response(
            field=response_field, response_content=raw, dump_json=dump_json, **options
        )
        code = headers_out.status_code or status_code or 200
        if dump_json:
            response = Response(content, status_code=code, media_type="application/json")
        else:
            response = response_class(content, status_code=code)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.headers.raw.extend(headers_out.headers.raw)
        return response

    return handler
