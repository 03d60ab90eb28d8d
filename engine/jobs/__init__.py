"""Background work: the outbox relay, dramatiq actors, the scheduler loop."""
