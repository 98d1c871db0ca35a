"""The peer the issue measures us against: a FastAPI + SQLModel app written as the tutorials
write it (a sync `def` endpoint, a session per request, `session.add`, `commit`, `refresh`),
inserting the same JSON body as a row. And a bare endpoint taking the same JSON, no database.

    SEGMENTTI_DATABASE_URL=postgresql+psycopg://… uvicorn bench.tutorial_app:app
"""

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlmodel import JSON, Column, Field, Session, SQLModel, create_engine


class Assessment(SQLModel, table=True):
    __tablename__ = "tutorial_assessment"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    hetu: str = Field(index=True)
    model: str
    answers: dict[str, Any] = Field(sa_column=Column(JSON))
    recorded_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ClientIn(BaseModel):
    hetu: str


class AssessmentIn(BaseModel):
    client: ClientIn
    model: str
    answers: dict[str, Any]


url = os.environ["SEGMENTTI_DATABASE_URL"]
if url.startswith("postgresql://"):
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, connect_args={"check_same_thread": False} if "sqlite" in url else {})
SQLModel.metadata.create_all(engine)
app = FastAPI()


@app.post("/tutorial/assessments", status_code=201)
def create(body: AssessmentIn) -> Assessment:
    row = Assessment(hetu=body.client.hetu, model=body.model, answers=body.answers)
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


@app.post("/bare/assessments", status_code=201)
async def bare(body: AssessmentIn) -> dict[str, str]:
    return {"model": body.model}


@app.get("/bare/healthz")
async def bare_health() -> dict[str, str]:
    return {"status": "ok"}
