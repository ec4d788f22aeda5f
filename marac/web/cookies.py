"""Cookie names and attributes: `__Host-` and Secure whenever the service is served over https."""

from __future__ import annotations

from starlette.responses import Response

from marac import settings


def name(base: str) -> str:
    return f"__Host-{base}" if settings.get().secure_cookies else base


def set_cookie(response: Response, base: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name(base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=settings.get().secure_cookies,
        samesite="lax",
    )


def delete_cookie(response: Response, base: str) -> None:
    response.delete_cookie(name(base), path="/", httponly=True, secure=settings.get().secure_cookies, samesite="lax")
