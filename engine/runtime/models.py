"""Runtime tables: deployments and versions, instances, human tasks, timers, messages, outbox,
incidents. Workflow state holds references and routing values only (invariant 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime


class Deployment(Base):
    """One upload of diagram files, immutable, keyed by the hash of its content."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # bundled, cli, api
    deployed_by: Mapped[int | None] = mapped_column(Integer)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeploymentFile(Base):
    __tablename__ = "deployment_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessVersion(Base):
    """An executable process of a deployment; its parsed spec is stored here once."""

    __tablename__ = "process_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    starter_role: Mapped[str | None] = mapped_column(String(32))
    roles: Mapped[str] = mapped_column(Text)  # JSON list of lane roles
    spec: Mapped[str] = mapped_column(Text)  # JSON: serialized spec and subprocess specs
    # Withdrawn from new starts (running instances continue); None: available.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[int | None] = mapped_column(Integer)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_version"),)


class ProtocolDraft(Base):
    """A diagram saved from the modeler, not yet published: several administrators see it.

    `base_version_id` is the published version the draft starts from (None: a new
    protocol); its other diagram files (call activities, decision tables) are deployed
    beside the draft when it is published. `revision` grows at each save: a save naming an
    older revision is refused (optimistic concurrency).
    """

    __tablename__ = "protocol_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[str] = mapped_column(Text)  # JSON list of the form files the diagram names
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))
    revision: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Instance(Base):
    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    # running suspended completed terminated
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(Text)  # SpiffWorkflow serialization without the spec
    lanes: Mapped[str] = mapped_column(Text)  # JSON {role: organisation id}
    started_by: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class HumanTask(Base):
    """A queryable mirror of the workflow's human tasks: who may act, on what, since when."""

    __tablename__ = "human_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    task_guid: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    form: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16))  # ready completed cancelled
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_by: Mapped[int | None] = mapped_column(Integer)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid", name="uq_human_task_instance_guid"),
        Index("ix_human_task_worklist", "organisation_id", "lane", "state", "id"),
    )


class DueTimer(Base):
    """A waiting timer event, mirrored after each save so the scheduler can find it."""

    __tablename__ = "due_timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Message(Base):
    """A message thrown or received, buffered until correlated or expired.

    `sender_organisation_id` is the organisation the sender acted for (None: the platform);
    the message reaches only instances that organisation takes part in. `dedup_key` is
    "<sender organisation id or platform>:<message id>": one sender cannot pre-empt
    another's message ids.
    """

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(120))
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    sender_organisation_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    correlation: Mapped[str] = mapped_column(Text)  # canonical JSON of the correlation keys
    payload: Mapped[str] = mapped_column(Text)  # JSON; routable values only
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consumed_by: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_message_pending", "name", "consumed_at", "expires_at"),)


class MessageWait(Base):
    """What a running instance waits for: one row per (message name, correlation key, value).

    Written when the instance starts waiting for the message, removed when it stops; a
    posted message finds its instance through the index, never by scanning instances.
    `value` is the canonical JSON of a routable value (so 1 and "1" differ).
    """

    __tablename__ = "message_wait"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_message_wait_lookup", "name", "key", "value"),)


class OutboxItem(Base):
    """A side effect decided in a transaction, run afterwards by an idempotent actor."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    operator: Mapped[str | None] = mapped_column(String(120))
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending running done failed cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class Incident(Base):
    """An instance that cannot progress by itself; an administrator decides."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))  # connector_failed, stalled, task_error
    error: Mapped[str] = mapped_column(Text)  # French summary, no personal data
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    traceback: Mapped[str | None] = mapped_column(Text)  # administrators only
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(Integer)
