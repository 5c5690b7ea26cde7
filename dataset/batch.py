"""Run one function over many work items: in this process, on a local process pool, or on
a Dask cluster. Results come back as they finish, so the caller can record progress
(and resume) item by item.

Dask is optional (``pip install 'mimicsync[dask]'``); workers on other machines must see
the study root and the output folder at the same paths (a shared file system).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

from mimicsync.errors import ErrorCode, MimicsyncError

CONNECT_TIMEOUT = "10s"  # how long to try reaching a Dask scheduler
T = TypeVar("T")
R = TypeVar("R")


class BatchError(MimicsyncError, RuntimeError):
    """The batch back-end cannot run; the message says what to install or fix."""

    default_code = ErrorCode.STATE


def run_batch(fn: Callable[[T], R], items: Sequence[T], *, workers: int = 1,
              scheduler: str | None = None) -> Iterator[tuple[T, R | BaseException]]:
    """Yield ``(item, result or exception)`` for every item, in completion order.

    ``scheduler``: a Dask scheduler address (``tcp://host:8786``) to run on that cluster;
    otherwise ``workers`` local processes (1 = in this process, no pool).
    """
    if scheduler:
        yield from _dask(fn, items, scheduler)
    elif workers <= 1 or len(items) <= 1:
        for it in items:
            try:
                yield it, fn(it)
            except Exception as e:  # noqa: BLE001 - reported per item by the caller
                yield it, e
    else:
        # spawn: h5py/HDF5 state and threads of the parent must not be forked
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(fn, it): it for it in items}
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())


def _dask(fn: Callable[[T], R], items: Sequence[T], address: str):
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise BatchError("scheduler", "a Dask scheduler needs Dask",
                         "pip install 'mimicsync[dask]' (dask[distributed])") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, ValueError …
        raise BatchError("scheduler", f"cannot reach the Dask scheduler at {address} ({e})",
                         "check the address and that `dask scheduler` runs there") from None
    try:
        futures = {client.submit(fn, it, pure=False): it for it in items}
        for fut in dask_completed(list(futures)):
            try:
                yield futures[fut], fut.result()
            except Exception as e:  # noqa: BLE001
                yield futures[fut], e
    finally:
        client.close()
