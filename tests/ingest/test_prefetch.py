"""The prefetching iterator: same items in order, errors where they happened, early stop."""

from __future__ import annotations

import threading

import pytest

from riskmap.ingest.prefetch import prefetched


def test_items_come_in_order_made_in_another_thread() -> None:
    makers: set[int] = set()

    def items():
        for i in range(50):
            makers.add(threading.get_ident())
            yield i

    assert list(prefetched(items(), depth=2)) == list(range(50))
    assert makers and threading.get_ident() not in makers


def test_an_error_is_raised_after_the_items_before_it() -> None:
    def items():
        yield 1
        yield 2
        raise ValueError("line 3: bad")

    got = []
    with pytest.raises(ValueError, match="line 3"):
        for i in prefetched(items()):
            got.append(i)
    assert got == [1, 2]


def test_stopping_early_closes_the_source() -> None:
    closed = threading.Event()

    def items():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    it = prefetched(items())
    assert next(it) == 0
    it.close()
    assert closed.is_set()
