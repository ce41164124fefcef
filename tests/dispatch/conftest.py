"""A real Mosquitto broker on 127.0.0.1 (a port the kernel chose), started from our own config."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskmap.api.dispatch.broker import Broker


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One broker for the session: tests that only publish and subscribe share it."""
    broker = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def own_broker(tmp_path) -> Iterator[Broker]:
    """A broker of the test's own, for tests that stop or restart it."""
    broker = Broker(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()
