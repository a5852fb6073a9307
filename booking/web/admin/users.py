"""Back office: the accounts that can sign in."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.models import User
from booking.web.services import render, services


def _users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))).all())


async def user_list(request: Request) -> Response:
    svc = services(request)
    return render(request, "admin/users.html", {"users": await svc.read(_users)})


routes = [Route("/users", user_list, name="admin_users")]
