"""What the areas' SqlStore methods stand on: the two primitives that run a transaction body.

SqlStore (openim.storage.sql.store) is composed of one mixin per area (``<area>/store.py``), each a
:class:`SqlBase`; an adapter implements :meth:`SqlBase._read` and :meth:`SqlBase._write` once for all of
them. A method that only hands its arguments to its body is not written out again: its body has the
port's signature, and ``get_friend_ids = reads(queries.get_friend_ids)`` makes the method from it. The
methods that do more (skip the database for empty input, lay pending read marks over rows, retry) are
written out in their area's store.py.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from openim.storage.sql.txn import T, Txn, TxnFactory

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])


class SqlBase(abc.ABC):
    """A store that runs transaction bodies on a reader or on the writer."""

    @abc.abstractmethod
    async def _read(self, body: TxnFactory[T]) -> T:
        """Run a read-only transaction (may use a reader connection that sees every committed write)."""

    @abc.abstractmethod
    async def _write(self, body: TxnFactory[T]) -> T:
        """Run a read-write transaction; return only after its commit is durable."""


def reads(body: Callable[P, Txn[T]]) -> Callable[Concatenate[SqlBase, P], Coroutine[Any, Any, T]]:
    """The store method that runs ``body`` with its arguments in a read transaction."""

    async def method(self: SqlBase, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._read(lambda: body(*args, **kwargs))

    return _named(method, body)


def writes(body: Callable[P, Txn[T]]) -> Callable[Concatenate[SqlBase, P], Coroutine[Any, Any, T]]:
    """The store method that runs ``body`` with its arguments in a write transaction."""

    async def method(self: SqlBase, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._write(lambda: body(*args, **kwargs))

    return _named(method, body)


def _named(method: F, body: Callable[..., Any]) -> F:
    # help() and the method's repr name the operation, not the wrapper.
    method.__name__ = method.__qualname__ = body.__name__
    method.__doc__ = body.__doc__
    return method
