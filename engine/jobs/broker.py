"""dramatiq broker from settings: Redis or RabbitMQ in production, in-process when unset."""

from __future__ import annotations

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker

from engine.errors import ConfigurationError


def make_broker(url: str | None) -> Broker:
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ConfigurationError("RELAIS_BROKER_URL doit commencer par redis:// ou amqp://.")
