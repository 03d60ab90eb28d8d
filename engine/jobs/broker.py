"""dramatiq broker from settings: Redis or RabbitMQ in production, in-process when unset.

`RELAIS_BROKER_NAMESPACE` (Redis only, default ``dramatiq``) prefixes every Redis key the
broker uses, so several Relais installations — or test runs — can share one Redis server
without seeing each other's messages. Every process of one installation (web, scheduler,
workers) must use the same namespace.
"""

from __future__ import annotations

import os
import re

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker

from engine.errors import ConfigurationError

NAMESPACE_ENV = "RELAIS_BROKER_NAMESPACE"
DEFAULT_NAMESPACE = "dramatiq"
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def broker_namespace() -> str:
    """The Redis key prefix from RELAIS_BROKER_NAMESPACE; ConfigurationError when malformed."""
    namespace = os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    if not _NAMESPACE.match(namespace):
        raise ConfigurationError(
            f"{NAMESPACE_ENV} doit comporter de 1 à 100 caractères parmi lettres, chiffres, "
            "« _ », « . » et « - », et commencer par une lettre ou un chiffre.")
    return namespace


def make_broker(url: str | None) -> Broker:
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=broker_namespace())
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ConfigurationError("RELAIS_BROKER_URL doit commencer par redis:// ou amqp://.")
