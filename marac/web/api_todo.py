"""The caller's to-do list in the JSON API: what the home page shows (marac/todo.py)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from marac import todo
from marac.clock import today
from marac.web.auth import Caller, api


class TodoItemOut(BaseModel):
    conference: str = Field(description="The conference's slug")
    conference_name: str
    role: str = Field(description="The caller's role in that conference")
    kind: str = Field(description="What is waiting: " + ", ".join(todo.KINDS))
    count: int
    text: str = Field(description='As the home page says it, e.g. "3 referrals to triage"')
    hint: str
    deadline: date | None = None
    late: bool
    link: str = Field(description="The page where it is done (a path on this server)")
    meeting_id: str | None = None


class TodoList(BaseModel):
    items: list[TodoItemOut]
    next: str | None = Field(default=None, description="Always null: the list is whole")


@api(response=TodoList)
async def get_todo(request: Request, caller: Caller) -> TodoList:
    """What is waiting for the caller in each conference where they hold a role, most urgent first:
    counts, deadlines and links only, never a name or case text. Empty: nothing is waiting."""
    return TodoList(
        items=[
            TodoItemOut(
                conference=conference.slug,
                conference_name=conference.name,
                role=conference.role,
                kind=item.kind,
                count=item.count,
                text=item.text,
                hint=item.hint,
                deadline=item.deadline,
                late=item.late,
                link=item.link,
                meeting_id=item.meeting_id,
            )
            for conference in await todo.for_viewer(caller.viewer, today())
            for item in conference.items
        ]
    )


routes = [Route("/api/v1/todo", get_todo, methods=["GET"])]
