"""Routes run a handler compiled once (app/handler.py) that answers exactly as FastAPI's own.

The same endpoints are served twice, by FastAPI's handler and by the compiled one, and every
answer — values, validation errors and their order, status codes, headers — must be equal.
"""

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app.handler import compile_handler
from app.main import ROUTERS, create_app
from app.routing import ServiceRoute
from tests.conftest import make_settings

calls: list[str] = []


class CompiledRoute(APIRoute):
    def get_route_handler(self) -> Any:
        handler = compile_handler(self)
        assert handler is not None
        return handler


async def counted(request: Request) -> str:
    calls.append(request.url.path)
    return "counted"


async def purpose(
    x_purpose: Annotated[str | None, Header(max_length=5)] = None,
    seen: Annotated[str, Depends(counted)] = "",
) -> str:
    return f"{x_purpose}:{seen}"


class Item(BaseModel):
    name: str = Field(min_length=2)
    count: int = 1


class Answer(BaseModel):
    id: int
    name: str
    count: int
    at: int | None
    why: str
    again: str


def build(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.post("/items/{item_id}", status_code=201, response_model=Answer)
    async def create(
        item_id: int,
        item: Item,
        why: Annotated[str, Depends(purpose)],
        again: Annotated[str, Depends(counted)],
        response: Response,
        at: Annotated[int | None, Query(ge=0)] = None,
    ) -> Answer:
        response.headers["Location"] = f"/items/{item_id}"
        if item.name == "moved":
            response.status_code = 202
        return Answer(id=item_id, name=item.name, count=item.count, at=at, why=why, again=again)

    @router.get("/tags")
    async def tags(tag: Annotated[list[str], Query()], limit: int = 10) -> dict[str, Any]:
        return {"tags": tag, "limit": limit}

    app = FastAPI()
    app.include_router(router)
    return app


CASES = [
    ("post", "/items/7", {"json": {"name": "ok"}}),
    ("post", "/items/7?at=3", {"json": {"name": "ok", "count": 4}}),
    ("post", "/items/7", {"json": {"name": "moved"}}),
    ("post", "/items/x?at=-1", {"json": {"name": "o", "count": "many"}}),
    ("post", "/items/7", {"json": {"name": "ok"}, "headers": {"X-Purpose": "far too long"}}),
    ("post", "/items/7", {"content": b"{", "headers": {"Content-Type": "application/json"}}),
    ("post", "/items/7", {}),
    ("post", "/items/7", {"json": [1]}),
    ("get", "/tags?tag=a&tag=b", {}),
    ("get", "/tags?limit=x", {}),
    ("get", "/tags?tag=a&limit=2", {}),
]


@pytest.mark.parametrize(("method", "url", "options"), CASES)
def test_the_compiled_handler_answers_as_fastapis_own(
    method: str, url: str, options: dict[str, Any]
) -> None:
    answers = []
    for route_class in (APIRoute, CompiledRoute):
        calls.clear()
        with TestClient(build(route_class)) as client:
            response = getattr(client, method)(url, **options)
        headers = {k: v for k, v in response.headers.items() if k != "date"}
        answers.append((response.status_code, headers, response.json(), list(calls)))
    assert answers[0] == answers[1]


def test_a_dependency_needed_twice_runs_once() -> None:
    calls.clear()
    with TestClient(build(CompiledRoute)) as client:
        assert client.post("/items/1", json={"name": "ok"}).status_code == 201
    assert calls == ["/items/1"]


def test_every_operation_of_the_service_runs_compiled(tmp_path: Path) -> None:
    create_app(make_settings(tmp_path))
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, ServiceRoute)]
    assert len({route.path for route in routes if route.path.startswith("/v1/")}) > 20
    assert [route.path for route in routes if not route.compiled] == []
