"""Rights changes recorded in the audit log however they are made: hub REST API, admin page,
data service, hub configuration.

:func:`install_audit_hooks` registers SQLAlchemy attribute listeners, in the hub process, on
JupyterHub's ORM:

- ``orm.Group.users`` append/remove -> ``group_change`` (``group``, ``action`` add|remove);
- ``orm.Role.users`` append/remove -> ``role_change`` (``role``, ``action``);
- ``orm.User.admin`` set to another value -> ``admin_change`` (``action`` add|remove).

SQLAlchemy fires these for both sides of the relationship (``group.users.append(user)`` and
``user.groups.append(group)`` alike) and for whole-list assignments, so every code path of the
hub that changes a membership is seen. Deleting a user, group or role removes memberships
without such an event: a ``before_flush`` listener records each of those as a removal with a
``reason`` ("user deleted", "group deleted", "role deleted"). A SQL statement written by hand
against the database would not be seen (JupyterHub writes none for these).

Each record has the user concerned as ``who`` and ``via: "hub"``. Who made the change is taken
from the request being served, when there is one: the listener walks up the Python call stack
(``inspect``) to the tornado handler and reads its ``current_user`` (JupyterHub has no public
per-request hook that runs before the change). A user is recorded as ``by`` (pseudonymised),
a service as ``by_service`` (a service is no person: its name is kept). Changes made outside a
request (the hub applying ``load_groups``, ``load_roles`` or ``admin_users`` at start) carry
neither.

The record is written when the change is made in the hub's session, before it is committed:
a change is never committed unrecorded, and if the record cannot be written the change fails
(the listener raises, so the collection is left unchanged). A change later rolled back keeps
its record.

A grant or revoke through the data service appears twice, on purpose: ``grant``/``revoke``
(written by the service, ``by`` the steward who asked) and ``group_change`` (written by the hub,
``by_service`` the data service). The first says who decided, the second that the hub did it.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from jupyterhub import orm
from sqlalchemy import event
from sqlalchemy.orm import Session
from tornado.web import RequestHandler

from ..privacy.audit import record_event
from ..state import StatePaths

_installed: dict[str, object] = {}


def audit_log_of(cfg: dict) -> Path:
    """The platform's audit log: ``<state_dir>/logs/audit.jsonl``."""
    return StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl"


def acting_entity() -> dict:
    """``{"by": user}`` or ``{"by_service": name}`` for the hub request being served; ``{}`` outside one."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            handler = frame.f_locals.get("self")
            if isinstance(handler, RequestHandler):
                try:
                    entity = handler.current_user
                except RuntimeError:  # not authenticated yet (JupyterHub raises before prepare)
                    return {}
                if entity is None:
                    return {}
                if isinstance(entity, orm.Service):
                    return {"by_service": entity.name}
                return {"by": entity.name}
            frame = frame.f_back
        return {}
    finally:
        del frame


def _writer(event_name: str, field: str | None):
    def write(target, value, action: str) -> None:
        user, other = (value, target) if field else (target, None)
        fields = {"action": action, "via": "hub", **acting_entity()}
        if field:
            fields[field] = other.name
        record_event(_installed["log"], event_name, who=user.name, state_dir=_installed["state_dir"], **fields)

    return write


def _on_membership(event_name: str, field: str):
    write = _writer(event_name, field)

    def on_append(target, value, initiator):
        write(target, value, "add")
        return value

    def on_remove(target, value, initiator):
        write(target, value, "remove")

    return on_append, on_remove


def _on_admin(target, value, oldvalue, initiator):
    if bool(value) != (oldvalue is True):
        _writer("admin_change", None)(target, None, "add" if value else "remove")
    return value


def _on_flush(session, flush_context, instances) -> None:
    """A user, group or role deleted takes its memberships with it, with no collection event:
    record each as a removal (``reason``: what was deleted)."""
    for target in list(session.deleted):
        # JupyterHub deletes a user through its wrapper (jupyterhub.user.User), which the session lists.
        target = getattr(target, "orm_user", target)
        if isinstance(target, orm.User):
            kind = "user deleted"
            changes = [("group_change", "group", group.name) for group in target.groups]
            changes += [("role_change", "role", role.name) for role in target.roles]
            if target.admin:
                changes.append(("admin_change", None, None))
            users = [target]
        elif isinstance(target, (orm.Group, orm.Role)):
            kind = f"{type(target).__name__.lower()} deleted"
            field = "group" if isinstance(target, orm.Group) else "role"
            changes = [(f"{field}_change", field, target.name)]
            users = list(target.users)
        else:
            continue
        for user in users:
            for event_name, field, name in changes:
                extra = {field: name} if field else {}
                record_event(_installed["log"], event_name, who=user.name, state_dir=_installed["state_dir"],
                             action="remove", reason=kind, via="hub", **extra, **acting_entity())


def install_audit_hooks(cfg: dict) -> None:
    """Record every group, role and admin change of this hub process in the audit log (once)."""
    _installed.update(log=audit_log_of(cfg), state_dir=Path(cfg["state_dir"]))
    if _installed.get("done"):
        return
    for attribute, name, field in ((orm.Group.users, "group_change", "group"), (orm.Role.users, "role_change", "role")):
        on_append, on_remove = _on_membership(name, field)
        event.listen(attribute, "append", on_append, retval=True)
        event.listen(attribute, "remove", on_remove)
    event.listen(orm.User.admin, "set", _on_admin, retval=True, active_history=True)
    event.listen(Session, "before_flush", _on_flush)
    _installed["done"] = True
