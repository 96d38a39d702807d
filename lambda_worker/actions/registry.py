"""The action registry: `@action("name")` on a function that takes the validated request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lambda_worker.schemas import TaskCallbackRequest

ActionResult = dict[str, Any] | None
ActionFunc = Callable[[TaskCallbackRequest], ActionResult | Awaitable[ActionResult]]

_actions: dict[str, ActionFunc] = {}


def action(name: str) -> Callable[[ActionFunc], ActionFunc]:
    """Register the decorated function as the handler of tasks whose action is `name`."""

    def register(func: ActionFunc) -> ActionFunc:
        if name in _actions and _actions[name] is not func:
            raise ValueError(f"action {name!r} is already registered")
        _actions[name] = func
        return func

    return register


def get_action(name: str) -> ActionFunc | None:
    return _actions.get(name)


def known_actions() -> list[str]:
    return sorted(_actions)
