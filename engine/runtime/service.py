"""The runtime domain's public service interface.

Web views, the CLI, jobs and other domains call `engine.runtime.service.X`; this module only
re-exports the public functions of the modules that implement them, split along their seams:

- `engine.runtime.deployments`: deploy a model, its versions and forms;
- `engine.runtime.instances`: start, complete a task, suspend/resume/terminate, timers,
  service tasks, migration, incidents (each step runs through `engine.runtime.execution`:
  load, advance, save, incidents);
- `engine.runtime.messages`: receive, deliver and start by message;
- `engine.runtime.drafts`: drafts saved from the modeler, checked and published;
- `engine.runtime.withdrawals`: versions withdrawn from new starts, and put back;
- `engine.runtime.queries`: visibility, worklists, summaries, the catalogue of deployed
  protocols for the administration pages.

Keep importing from here (not from those modules) outside the runtime domain, so that the
inner layout can change without touching callers.

Guarantees (the detail is in each module):
- every step saves the instance, its human-task rows, timers, outbox rows and audit rows in
  the caller's unit of work: they commit together or not at all;
- a stale or double completion raises `Conflict` (HTTP 409) and changes nothing;
- workflow data holds references, enumerations, booleans, numbers and dates only;
  submissions go to `cases` encrypted (invariant 1);
- service tasks never run inside the transaction: they become outbox rows (invariant 4);
- an engine error or a stalled instance becomes an incident, never a silent hang.
"""

from __future__ import annotations

from engine.runtime.correlation import MESSAGE_TTL
from engine.runtime.deployments import (
    FORM_PREFIX,
    MAX_UPLOAD_FILES,
    DeploymentRejected,
    Upload,
    already_deployed,
    can_start,
    deploy,
    deploy_uploads,
    form_of_version,
    latest_version,
    latest_versions,
    read_uploads,
    safe_file_name,
    versions_of,
)
from engine.runtime.drafts import (
    DraftRow,
    PublishRefused,
    base_version,
    check_draft,
    delete_draft,
    draft_row,
    drafts,
    get_draft,
    publication_problems,
    publish_draft,
    publish_uploads,
    save_draft,
)
from engine.runtime.execution import (
    COMPLETED,
    RUNNING,
    SUSPENDED,
    TERMINATED,
    Loaded,
    concurrent_change_is_conflict,
    load,
)
from engine.runtime.instances import (
    complete_task,
    due_timers,
    fire_timers,
    migrate_instance,
    resume_service_task,
    retry_incident,
    service_task_failed,
    set_status,
    start_instance,
    task_form,
)
from engine.runtime.messages import (
    PLATFORM_MESSAGES,
    deliver_message,
    receive_message,
    start_by_message,
)
from engine.runtime.queries import (
    DiagramFile,
    ProtocolRow,
    VersionRow,
    as_utf8_text,
    diagram_files,
    diagram_of,
    history,
    instance_summary,
    instances_by_version,
    may_act,
    open_incidents,
    protocol_names,
    protocols,
    ready_tasks,
    request_case_disclosure,
    running_instance_ids,
    task_summary,
    version_of,
    visible_instance,
    visible_task,
    worklist,
)
from engine.runtime.vocabulary import NEVER_PREFILLED, PREFILL
from engine.runtime.withdrawals import (
    ProtocolWithdrawn,
    available_version,
    available_versions,
    restore,
    withdraw,
)

__all__ = [
    "COMPLETED",
    "FORM_PREFIX",
    "MAX_UPLOAD_FILES",
    "MESSAGE_TTL",
    "NEVER_PREFILLED",
    "PLATFORM_MESSAGES",
    "PREFILL",
    "RUNNING",
    "SUSPENDED",
    "TERMINATED",
    "DeploymentRejected",
    "DiagramFile",
    "DraftRow",
    "Loaded",
    "ProtocolRow",
    "ProtocolWithdrawn",
    "PublishRefused",
    "Upload",
    "VersionRow",
    "already_deployed",
    "as_utf8_text",
    "available_version",
    "available_versions",
    "base_version",
    "can_start",
    "check_draft",
    "complete_task",
    "concurrent_change_is_conflict",
    "delete_draft",
    "deliver_message",
    "deploy",
    "deploy_uploads",
    "diagram_files",
    "diagram_of",
    "draft_row",
    "drafts",
    "due_timers",
    "fire_timers",
    "form_of_version",
    "get_draft",
    "history",
    "instance_summary",
    "instances_by_version",
    "latest_version",
    "latest_versions",
    "load",
    "may_act",
    "migrate_instance",
    "open_incidents",
    "protocol_names",
    "protocols",
    "publication_problems",
    "publish_draft",
    "publish_uploads",
    "read_uploads",
    "ready_tasks",
    "receive_message",
    "request_case_disclosure",
    "restore",
    "resume_service_task",
    "retry_incident",
    "running_instance_ids",
    "safe_file_name",
    "save_draft",
    "service_task_failed",
    "set_status",
    "start_by_message",
    "start_instance",
    "task_form",
    "task_summary",
    "version_of",
    "versions_of",
    "visible_instance",
    "visible_task",
    "withdraw",
    "worklist",
]
