"""The data service: non-public catalogue entries over HTTP, run by the hub at /services/data/.

``python -m occidata.catalog.service`` (declared by :func:`occidata.hub.services.data_service`)
listens on the port of ``$JUPYTERHUB_SERVICE_URL`` under ``$JUPYTERHUB_SERVICE_PREFIX``. Callers
are hub users, identified by the hub's OAuth (browsers) or by ``Authorization: token <t>`` (a
user's API token, or the ``JUPYTERHUB_API_TOKEN`` of their lab server).

This is where access levels are *enforced*; :mod:`occidata.levels` is where they are *decided*
(which level an entry needs, which hub group stands for it, who may grant it).

Every request is authorised afresh: once the caller is identified, the service asks the hub
(with its own token) for the user's current groups, roles and admin flag — nothing is cached,
so a revoke takes effect on the very next request. A non-public entry is served only when the
caller is a member of the level's hub group (``partner``, ``restricted:<dataset>``) *and* this
service recorded a grant of that level in its own grants file (:mod:`occidata.catalog.grants`):
a membership added through another door (the hub's REST API or admin page) grants nothing, and
a removal from the group by any door ends the right (the grant lapses, audited). Public entries
are served to any logged-in user. In demo mode restricted entries are never served.

Grants and revokes need a data steward's token that carries the hub scope
:data:`occidata.levels.GRANT_SCOPE` (the ``steward`` role has it: a steward's own API token from
``/hub/token``; a lab server's ``$JUPYTERHUB_API_TOKEN`` and browser OAuth sessions of this
service do not). Nobody grants a right to themselves; a ``restricted:*`` level is first recorded
as pending (``grant_requested``) and granted when a second, different steward grants it too.

Endpoints, under the prefix:

- ``api/entries``: every entry, its level and whether the caller is granted it;
- ``api/tables/<name>?format=arrow|parquet&year=&columns=a,b&start=&end=&<column>=<value>``:
  a filtered table, streamed (Arrow IPC stream by default);
- ``api/zarr/<name>/<key>``: the raw bytes of one key of a grid's Zarr store (Zarr over HTTP);
- ``api/access`` (data stewards: hub admins or the hub role ``steward``): GET the granted members
  of the level groups, the pending restricted grants and the members the data trust did not grant;
  POST ``{"action": "grant"|"revoke", "user": …, "level": …}`` to change them (200 done, 202 pending);
- ``api/audit?user=&dataset=&event=&since=&until=`` (stewards): audit records (pseudonymised);
- ``api/requests``, ``requests`` (pages): access requests with a purpose, a project and an end
  date, decided by stewards; rights end at that date (:mod:`occidata.catalog.requests_service`).

Denials are 403 with ``{"error": …, "level_needed": …, "catalogue_page": …}`` (the error is the French
refusal of :mod:`occidata.catalog.access_message`: the level, the stewards who grant it, the entry's
page) and an ``access_denied`` audit event;
non-public reads, grants and revokes are audited too (people pseudonymised by the audit log).
Errors are always JSON, never a traceback page.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlparse

from tornado import ioloop, web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from occidata.addresses import catalogue_page, public_url
from occidata.config import load_config
from occidata.processes import hold_service_lock
from occidata.datasets import get_dataset, names
from occidata.datasets.stored import stored_record
from occidata.hub.service_app import hub_service_app
from occidata.metrics import data_service_metrics
from occidata.modes import mode_of
from occidata.levels import GRANT_SCOPE, is_level_group, level_groups, needs_second_steward, required_level
from occidata.privacy.audit import query_audit, record_event
from occidata.state import StatePaths

from .access_message import DEMO, ENDED, MISSING, NOT_GRANTED as NOT_GRANTED_BY_TRUST, access_refusal
from .access_requests import RequestStore, requests_path
from .grants import GrantsError, GrantStore, grant_end, grants_path, has_ended
from .spec import entry_metadata
from .tables import CatalogError, ParameterError, built_years, parse_query, scan_table, verify_files

log = logging.getLogger("occidata.catalog.service")

ARROW_TYPE = "application/vnd.apache.arrow.stream"
ARROW_COMPRESSION = "zstd"
PARQUET_TYPE = "application/vnd.apache.parquet"
SAFE_KEY_PART = re.compile(r"^[A-Za-z0-9._-]+$")
# Our grids' keys are a few dozen characters ("tmax/0.0.0", "c/0/0/0"); far longer ones are no key
# of a store and would reach the file system as names it refuses (ENAMETOOLONG).
MAX_ZARR_KEY = 255
LAPSED = "removed from the hub group outside the data service"
NOT_GRANTED = "hub group membership not granted through the data trust"
ENDED_RIGHT = "the right reached the end date of its request"
RECONCILE_EVERY_MS = 60_000


class ApiError(Exception):
    """An answer other than 200, with its JSON body."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def self_grant_refusal(user: str, level: str) -> str:
    return (f"Personne ne s'accorde un droit à soi-même : un autre intendant des données doit accorder "
            f"« {level} » à {user}. / Nobody grants a right to themselves: another data steward must grant "
            f"'{level}' to {user}.")


def scope_refusal() -> str:
    return (f"Ce jeton ne permet pas d'accorder ou de retirer un droit (il n'a pas le scope {GRANT_SCOPE}) : "
            "c'est sans doute le jeton d'un serveur de lab ou d'une session de navigateur. Créez votre propre "
            "jeton sur /hub/token et lancez `occidata access grant ... --token <votre jeton>` (ou OCCIDATA_TOKEN). "
            f"/ This token may not grant or revoke (it lacks the scope {GRANT_SCOPE}): it is probably a lab "
            "server's token or a browser session. Create your own token at /hub/token and run "
            "`occidata access grant ... --token <your own token>` (or set OCCIDATA_TOKEN).")


def catalogue_entries() -> dict[str, dict]:
    """The metadata of every catalogue entry, from the dataset modules (the catalogue's own source)."""
    return {name: entry_metadata(get_dataset(name)) for name in names()}


class Chunks:
    """A write-only file that keeps what is written until :meth:`take` (for streaming writers)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def call_hub(hub_auth, method: str, path: str, body=None) -> tuple[int, dict | list | None]:
    """Call the hub's REST API with the service's own token."""
    request = HTTPRequest(
        hub_auth.api_url.rstrip("/") + "/" + path.lstrip("/"), method=method,
        headers={"Authorization": f"token {hub_auth.api_token}", "Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else (b"" if method in ("POST", "PUT") else None),
        allow_nonstandard_methods=True, request_timeout=20)
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    if response.code == 599:
        raise ApiError(502, f"the hub API did not answer: {response.error}")
    try:
        payload = json.loads(response.body) if response.body else None
    except ValueError:
        payload = None
    return response.code, payload


async def level_memberships(hub_auth, entries: dict) -> dict[str, list[str]]:
    """The hub's members of every level group (``partner``, ``restricted:<d>``)."""
    code, groups = await call_hub(hub_auth, "GET", "groups")
    if code != 200 or not isinstance(groups, list):
        raise ApiError(502, f"could not list the hub's groups ({code})")
    members = {name: [] for name in level_groups(entries)}
    for group in groups:
        name = group.get("name", "")
        if is_level_group(name):
            members[name] = sorted(group.get("users") or [])
    return members


def lapse_grants(store: GrantStore, audit_log, members: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Forget the grants whose holder left the level's hub group by another door (audited as revokes)."""
    lapsed = []
    for level, users in store.granted().items():
        for user in sorted(set(users) - set(members.get(level, []))):
            store.remove(user, level, pending=False)
            RequestStore(requests_path(store.path.parent.parent)).end(user, level, "revoked")
            record_event(audit_log, "revoke", who=user, what=level, reason=LAPSED)
            lapsed.append((user, level))
    return lapsed


async def reconcile(hub_auth, state: dict) -> None:
    """Periodically: grants of users no longer in the hub group lapse, even if they send no request."""
    try:
        lapse_grants(GrantStore(state["grants"]), state["audit_log"],
                     await level_memberships(hub_auth, state["entries"]))
    except Exception:  # noqa: BLE001 - the next round tries again; requests check membership anyway
        log.exception("reconciling the grants with the hub's groups failed")


def _hub_authenticated():
    from jupyterhub.services.auth import HubOAuthenticated

    return HubOAuthenticated


class Base(_hub_authenticated(), web.RequestHandler):
    """Identify the caller, then fetch their current groups and roles from the hub."""

    def initialize(self, state: dict):
        self.state = state
        self.hub_user: dict | None = None
        self.token_scopes: set[str] = set()

    def set_default_headers(self) -> None:
        from occidata.hub import csp  # the platform's policies live there (this service sends data only)

        self.set_header("Cache-Control", "no-store")
        self.set_header(csp.HEADER, csp.api_policy())

    # --- errors: always JSON --------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            body = error.body
        elif isinstance(error, web.HTTPError):
            body = {"error": error.log_message or error.reason or self._reason}
        else:
            body = {"error": "internal error of the data service; see its log"}
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError):
            if self._finished:
                return
            self.clear()
            self.set_default_headers()
            self.set_status(e.status)
            self.write_error(e.status, exc_info=(type(e), e, None))
            return
        super()._handle_request_exception(e)

    def send_json(self, value, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(value, ensure_ascii=False))

    # --- who is calling -------------------------------------------------------------------------

    async def prepare(self):
        from jupyterhub.services.auth import UserNotAllowed

        hub_auth = self.hub_auth
        model = None
        token = hub_auth.get_token(self, in_cookie=False)
        if token:
            # Never from a cache: a revoked token must stop working at once.
            model = await hub_auth.user_for_token(token, use_cache=False, sync=False)
            if model:
                self._token_authenticated = True
        if model is None:
            model = await hub_auth._get_user_cookie(self)
        if not model:
            if self.request.method in ("GET", "HEAD") and not token and "/api/zarr/" not in self.request.path:
                self.redirect(self.get_login_url())  # a browser: through the hub's login
                return
            raise ApiError(401, "not logged in: send 'Authorization: token <your hub API token>' "
                                "(inside a lab: $JUPYTERHUB_API_TOKEN) or log in at the hub")
        # What this token (or OAuth session) may do, as the hub resolved it: grants need GRANT_SCOPE.
        self.token_scopes = set(model.get("scopes") or [])
        try:
            model = self.check_hub_user(model)
        except UserNotAllowed:
            raise ApiError(403, f"{model.get('name')} may not use the data service "
                                "(the token lacks the scope access:services!service=data)") from None
        if model.get("kind", "user") == "service":
            # The report scheduler reads as a lab would, with the levels the configuration gives
            # it (reports.access_levels, never restricted); no other service is served.
            levels = self.state["service_levels"].get(model.get("name"))
            if levels is None:
                raise ApiError(403, "only hub users and the reports service are served, not other services")
            self.hub_user = {"name": f"service:{model['name']}", "kind": "service", "groups": sorted(levels),
                             "admin": False, "roles": []}
            self.current_user = self.hub_user
            return
        self.hub_user = await self.fresh_user(model["name"])
        self.current_user = self.hub_user

    async def hub_api(self, method: str, path: str, body=None) -> tuple[int, dict | list | None]:
        """Call the hub's REST API with the service's own token."""
        return await call_hub(self.hub_auth, method, path, body)

    async def fresh_user(self, name: str) -> dict:
        code, model = await self.hub_api("GET", f"users/{quote(name, safe='')}")
        if code != 200 or not isinstance(model, dict):
            log.warning("hub API GET users/%s answered %s: %s", name, code, model)
            raise ApiError(403 if code == 404 else 502, f"could not read the hub's record of {name} ({code})")
        return model

    @property
    def user_name(self) -> str:
        return self.hub_user["name"]

    @property
    def groups(self) -> list[str]:
        return sorted(self.hub_user.get("groups") or [])

    @property
    def is_steward(self) -> bool:
        return bool(self.hub_user.get("admin")) or "steward" in (self.hub_user.get("roles") or [])

    @property
    def grants(self) -> GrantStore:
        return GrantStore(self.state["grants"])

    def holds(self, level: str) -> bool:
        """Whether the caller holds ``level`` now: the hub group's membership and this service's grant."""
        if level == "public":
            return True
        if self.hub_user.get("kind") == "service":
            return level in self.hub_user["groups"]
        try:
            return level in self.groups and self.grants.has(self.user_name, level)
        except GrantsError as error:
            log.error("%s", error)
            raise ApiError(500, "the data service's grants cannot be read; nothing non-public is served "
                                "until they can (see its log)") from None

    def granted(self, meta: dict, name: str) -> bool:
        if meta["access"] == "restricted" and not self.state["serves_restricted"]:
            return False
        return self.holds(required_level(name, meta["access"]))

    # --- audit and access -----------------------------------------------------------------------

    def audit(self, event: str, **fields) -> None:
        try:
            record_event(self.state["audit_log"], event, who=self.user_name, **fields)
        except Exception:  # noqa: BLE001 - refuse to serve what cannot be audited
            log.exception("audit log write failed")
            raise ApiError(500, "the audit log cannot be written; nothing is served until it can") from None
        self.state["metrics"].audited(event, fields.get("what"), fields.get("access"))  # occidata.metrics

    def entry(self, name: str) -> dict:
        entries = self.state["entries"]
        if name not in entries:
            known = sorted(entries)
            raise ApiError(404, f"no dataset named {name!r} in the catalogue; known: {', '.join(known)}", known=known)
        return entries[name]

    def authorize(self, name: str) -> dict:
        """The entry's metadata if the caller may read it now; else 403 (audited)."""
        meta = self.entry(name)
        access = meta["access"]
        needed = required_level(name, access)
        if access == "restricted" and not self.state["serves_restricted"]:
            self.audit("access_denied", what=name, access=access, reason="demo mode")
            raise self.refusal(name, access, DEMO)
        if needed != "public" and needed not in self.groups:
            self.lapse(needed)
            self.audit("access_denied", what=name, access=access)
            raise self.refusal(name, access)
        if not self.holds(needed):
            ended = self.hub_user.get("kind") != "service" and self.grant_ended(needed)
            self.audit("access_denied", what=name, access=access, reason=ENDED_RIGHT if ended else NOT_GRANTED)
            raise self.refusal(name, access, ENDED if ended else NOT_GRANTED_BY_TRUST)
        self.announce_end(needed)
        return meta

    def grant_ended(self, level: str) -> bool:
        """Whether the caller's grant of ``level`` exists but reached its end date (the expiry
        round has not revoked it yet; it is not honoured meanwhile)."""
        entry = self.grants.entry(self.user_name, level)
        return entry is not None and has_ended(entry)

    def announce_end(self, level: str) -> None:
        """Tell the reader when their right ends (``X-Occidata-Access-Until``): the lab's client
        warns them ahead of the end (:mod:`occidata.catalog.remote`)."""
        if level == "public" or self.hub_user.get("kind") == "service":
            return
        end = grant_end(self.grants.entry(self.user_name, level) or {})
        if end is not None:
            self.set_header("X-Occidata-Access-Until", end.isoformat(timespec="seconds"))
            self.set_header("X-Occidata-Access-Notice-Days", str(self.state["notice_days"]))

    def refusal(self, name: str, access: str, reason: str = MISSING) -> ApiError:
        """The 403 of entry ``name``: the French refusal, the level needed and the entry's catalogue page."""
        return ApiError(403, self.state["refuse"](name, access, reason=reason),
                        level_needed=required_level(name, access),
                        catalogue_page=catalogue_page(name, self.state["public_url"]))

    def lapse(self, level: str) -> None:
        """The caller left ``level``'s hub group by another door: their grant ends (audited)."""
        if self.hub_user.get("kind") == "service":
            return
        try:
            if self.grants.remove(self.user_name, level, pending=False):
                record_event(self.state["audit_log"], "revoke", who=self.user_name, what=level, reason=LAPSED)
        except GrantsError as error:
            log.error("%s", error)

    def record_of(self, name: str) -> dict | None:
        return stored_record(self.state["data_dir"], name)

    def build_header(self, record: dict | None) -> None:
        if record:
            build = {k: record.get(k) for k in ("built_at", "size", "files")}
            self.set_header("X-Occidata-Build", json.dumps(build, separators=(",", ":")))


class IndexHandler(Base):
    def get(self):
        prefix = self.state["prefix"]
        self.send_json({"service": "occidata data service", "user": self.user_name, "groups": self.groups,
                        # Whether this token (or browser session) may grant or revoke: GRANT_SCOPE.
                        "may_grant": GRANT_SCOPE in self.token_scopes,
                        "endpoints": [f"{prefix}api/entries", f"{prefix}api/tables/<name>",
                                      f"{prefix}api/zarr/<name>/<key>", f"{prefix}api/access"]})


class EntriesHandler(Base):
    def get(self):
        rows = []
        for name, meta in sorted(self.state["entries"].items()):
            rows.append({"name": name, "title_fr": meta["title_fr"], "access": meta["access"], "kind": meta["kind"],
                         "level_needed": required_level(name, meta["access"]), "granted": self.granted(meta, name)})
        self.send_json(rows)


class TableHandler(Base):
    async def get(self, name: str):
        meta = self.authorize(name)
        if meta["kind"] != "table":
            raise ApiError(400, f"{name} is a grid: read it as Zarr at {self.state['prefix']}api/zarr/{name}/",
                           parameter="name")
        args = {key: [v.decode("utf-8", "replace") for v in values]
                for key, values in self.request.query_arguments.items()}
        fmt = (args.pop("format", None) or ["arrow"])[-1]
        if fmt not in ("arrow", "parquet"):
            raise ApiError(400, f"format must be arrow or parquet, not {fmt!r}", parameter="format")
        record = self.record_of(name)
        try:
            query = parse_query(name, args, built_years(record))
        except ParameterError as error:
            raise ApiError(400, str(error), parameter=error.parameter) from None
        loop = ioloop.IOLoop.current()
        try:
            await loop.run_in_executor(None, verify_files, name, Path(self.state["data_dir"]), record, query.year)
        except CatalogError as error:
            raise ApiError(404 if record is None else 409, str(error)) from None
        if meta["access"] != "public":
            self.audit("read", what=name, access=meta["access"], parameters=query.parameters())
        reader = await loop.run_in_executor(None, lambda: scan_table(name, self.state["data_dir"], query,
                                                                     files=record["files"]))
        self.build_header(record)
        await self.stream(reader, fmt)

    async def stream(self, reader, fmt: str) -> None:
        import pyarrow as pa

        sink = Chunks()
        if fmt == "arrow":
            self.set_header("Content-Type", ARROW_TYPE)
            # Compressed record batches: through the proxy, bytes cost more than the CPU to pack them
            # (pyarrow readers unpack them on their own).
            options = pa.ipc.IpcWriteOptions(compression=ARROW_COMPRESSION)
            writer = pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), reader.schema, options=options)
        else:
            import pyarrow.parquet as pq

            self.set_header("Content-Type", PARQUET_TYPE)
            writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), reader.schema)

        def step() -> tuple[bytes, bool]:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                writer.close()
                return sink.take(), True
            if fmt == "arrow":
                writer.write_batch(batch)
            else:
                writer.write_batch(batch, row_group_size=max(1, batch.num_rows))
            return sink.take(), False

        loop = ioloop.IOLoop.current()
        done = False
        while not done:
            data, done = await loop.run_in_executor(None, step)
            if data:
                self.write(data)
                await self.flush()
        self.finish()


class ZarrHandler(Base):
    async def get(self, name: str, key: str):
        await self.serve(name, key, head=False)

    async def head(self, name: str, key: str):
        await self.serve(name, key, head=True)

    async def serve(self, name: str, key: str, head: bool):
        meta = self.authorize(name)  # on every key: a revoke stops a half-read grid
        if meta["kind"] != "grid":
            raise ApiError(400, f"{name} is a table: read it at {self.state['prefix']}api/tables/{name}",
                           parameter="name")
        if len(key) > MAX_ZARR_KEY:
            raise ApiError(400, f"Zarr key too long ({len(key)} characters; a key of this store has at most "
                                f"{MAX_ZARR_KEY})", parameter="key")
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") or not SAFE_KEY_PART.match(p) for p in parts):
            raise ApiError(400, f"bad Zarr key {key!r}", parameter="key")
        data_dir = Path(self.state["data_dir"])
        root = (data_dir / name / f"{name}.zarr").resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise ApiError(404, f"{name}: no Zarr key {key!r}")
        if key == root_key(root):
            # One opening of the grid: check the store against the manifest, then audit it.
            record = self.record_of(name)
            try:
                await ioloop.IOLoop.current().run_in_executor(None, verify_files, name, data_dir, record, None)
            except CatalogError as error:
                raise ApiError(404 if record is None else 409, str(error)) from None
            if meta["access"] != "public":
                self.audit("read", what=name, access=meta["access"], parameters={})
        self.set_header("Content-Type", "application/json" if key.endswith(("json", ".zmetadata", ".zarray",
                                                                             ".zgroup", ".zattrs"))
                        else "application/octet-stream")
        if head:
            self.set_header("Content-Length", str(path.stat().st_size))
            self.finish()
        else:
            self.finish(path.read_bytes())


def root_key(store: Path) -> str:
    """The key every opening of the store reads first: ``zarr.json`` (Zarr v3), else
    ``.zmetadata`` (Zarr v2, consolidated, as occidata writes grids), else ``.zgroup``."""
    for key in ("zarr.json", ".zmetadata", ".zgroup"):
        if (store / key).is_file():
            return key
    return ".zgroup"


class AccessHandler(Base):
    """Stewards see and change who holds which level; every change is audited.

    A grant adds the user to the level's hub group and records it in the grants file; for a
    ``restricted:*`` level the first steward's grant is only recorded as pending, and a second,
    different steward's grant of the same (user, level) completes it. A revoke removes the
    membership, the grant and any pending request.
    """

    def require_steward(self) -> None:
        if not self.is_steward:
            raise ApiError(403, "only data stewards (hub admins or holders of the hub role 'steward') "
                                "may see or change access levels")

    def require_grant_scope(self) -> None:
        if GRANT_SCOPE not in self.token_scopes:
            raise ApiError(403, scope_refusal(), scope_needed=GRANT_SCOPE)

    async def memberships(self) -> dict[str, list[str]]:
        return await level_memberships(self.hub_auth, self.state["entries"])

    def store(self) -> GrantStore:
        store = self.grants
        try:
            store.read()
        except GrantsError as error:
            log.error("%s", error)
            raise ApiError(500, str(error)) from None
        return store

    async def listing(self) -> dict:
        """Granted members per level, pending restricted grants, and members the trust did not grant."""
        store = self.store()
        members = await self.memberships()
        lapse_grants(store, self.state["audit_log"], members)
        granted = store.granted()
        return {
            "members": {level: [u for u in users if u in granted.get(level, {})] for level, users in members.items()},
            "not_granted": {level: [u for u in users if u not in granted.get(level, {})]
                            for level, users in members.items()},
            "pending": [{"user": user, "level": level, **request}
                        for level, requests in sorted(store.pending().items())
                        for user, request in sorted(requests.items())],
        }

    async def get(self):
        self.require_steward()
        self.send_json(await self.listing())

    def request_body(self) -> tuple[str, str, str]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError(400, "the body must be JSON: {\"action\": ..., \"user\": ..., \"level\": ...}",
                           parameter="body") from None
        except RecursionError:  # the JSON parser's answer to arrays or objects nested thousands deep
            raise ApiError(400, "the body is nested too deeply; send one flat JSON object: "
                                "{\"action\": ..., \"user\": ..., \"level\": ...}", parameter="body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", parameter="body")
        action, user, level = body.get("action"), body.get("user"), body.get("level")
        if action not in ("grant", "revoke"):
            raise ApiError(400, f"action must be grant or revoke, not {action!r}", parameter="action")
        levels = level_groups(self.state["entries"])
        if level not in levels:
            raise ApiError(400, f"unknown level {level!r}; levels: {', '.join(levels)}", parameter="level")
        if not isinstance(user, str) or not user:
            raise ApiError(400, "user must be a hub user name", parameter="user")
        return action, user, level

    async def post(self):
        self.require_steward()
        self.require_grant_scope()
        action, user, level = self.request_body()
        if action == "grant" and user == self.user_name:
            raise ApiError(403, self_grant_refusal(user, level), rule="no self-grant")
        code, _ = await self.hub_api("GET", f"users/{quote(user, safe='')}")
        if code != 200:
            raise ApiError(400, f"no hub user named {user!r}", parameter="user")
        store = self.store()
        if action == "revoke":
            await self.change_group("DELETE", user, level)
            store.remove(user, level)
            RequestStore(self.state["requests"]).end(user, level, "revoked")
            # The person whose access changed is ``who``; the steward who changed it is ``by``.
            record_event(self.state["audit_log"], "revoke", who=user, by=self.user_name, what=level)
            await self.answer("revoke", user, level, "revoked")
            return
        if store.has(user, level) and user in (await self.memberships()).get(level, []):
            await self.answer("grant", user, level, "granted")
            return
        stewards = [self.user_name]
        if needs_second_steward(level):
            request = store.pending().get(level, {}).get(user)
            if request is None:
                store.request(user, level, by=self.user_name)
                record_event(self.state["audit_log"], "grant_requested", who=user, by=self.user_name, what=level)
                await self.answer("grant", user, level, "pending", code=202, message=(
                    f"Demande enregistrée : « {level} » pour {user} attend l'accord d'un second intendant des données. "
                    f"/ Request recorded: '{level}' for {user} waits for a second data steward's grant."))
                return
            if request["by"] == self.user_name:
                raise ApiError(409, f"Vous avez déjà demandé « {level} » pour {user} : un second intendant, différent "
                                    f"de vous, doit l'accorder. / You already asked for '{level}' for {user}: a second, "
                                    "different steward must grant it.", rule="second steward")
            stewards = [request["by"], self.user_name]
        await self.give_level(user, level, stewards)
        await self.answer("grant", user, level, "granted")

    async def give_level(self, user: str, level: str, stewards: list[str], until=None, request: str | None = None):
        """Make ``user`` a member of ``level``'s hub group and record the grant by ``stewards`` (until
        ``until``, after access request ``request``), audited."""
        await self.change_group("POST", user, level)
        self.store().grant(user, level, by=stewards, until=until, request=request)
        extra = {"second_by": stewards[1]} if len(stewards) > 1 else {}
        if until is not None:
            extra["until"] = until.isoformat(timespec="seconds")
        if request is not None:
            extra["request"] = request
        record_event(self.state["audit_log"], "grant", who=user, by=stewards[0], what=level, **extra)

    async def change_group(self, method: str, user: str, level: str) -> None:
        path = f"groups/{quote(level, safe='')}/users"
        code, answer = await self.hub_api(method, path, {"users": [user]})
        if code != 200:
            action = "grant" if method == "POST" else "revoke"
            message = answer.get("message") if isinstance(answer, dict) else answer
            raise ApiError(409 if code in (400, 404) else 502, f"the hub refused to {action} {level} for {user}: "
                                                              f"{code} {message}")

    async def answer(self, action: str, user: str, level: str, status: str, code: int = 200, **extra) -> None:
        listing = await self.listing()
        self.send_json({"action": action, "user": user, "level": level, "status": status,
                        "members": listing["members"].get(level, []), **extra}, status=code)


class AuditHandler(AccessHandler):
    """``GET api/audit?user=&dataset=&event=&since=&until=``: audit records, for stewards only.

    In server mode the log is readable by the service's account alone; this is how a steward
    runs ``occidata audit query`` from a lab. Records carry pseudonyms, never clear names.
    """

    async def get(self):
        self.require_steward()
        filters = {key: self.get_argument(key, None) for key in ("user", "dataset", "event", "since", "until")}
        try:
            records = query_audit(self.state["audit_log"], **filters)
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        self.send_json(records)


class NotFound(Base):
    def prepare(self):
        raise ApiError(404, f"no such page; the API is under {self.state['prefix']}api/")


def service_state(cfg: dict, prefix: str) -> dict:
    """What every handler of the service shares: paths, mode and the catalogue's entries."""
    return {
        "prefix": "/" + prefix.strip("/") + "/",
        "serves_restricted": mode_of(cfg).serves_restricted,
        "data_dir": cfg["data_dir"],
        "audit_log": StatePaths(Path(cfg["state_dir"])).logs / "audit.jsonl",
        "entries": catalogue_entries(),
        "grants": grants_path(cfg["state_dir"]),
        "metrics": data_service_metrics(),  # reads and denials, served at <prefix>metrics
        "requests": requests_path(cfg["state_dir"]),
        "notice_days": cfg["data_service"]["expiry_notice_days"],
        "cfg": cfg,
        # Refusals name the stewards and link to the entry's page at the hub's public address.
        "refuse": partial(access_refusal, cfg=cfg),
        "public_url": public_url(cfg),
        # Services served, with their levels: the report scheduler's come from the configuration.
        "service_levels": {"reports": {level for level in cfg["reports"]["access_levels"]
                                       if not level.startswith("restricted:")}} if cfg["reports"]["enabled"] else {},
    }


def make_app(cfg: dict, prefix: str = "/services/data/", hub_auth=None) -> web.Application:
    """The tornado application of the data service."""
    from .requests_service import routes as requests_routes  # its handlers build on this module's
    state = service_state(cfg, prefix)
    prefix = state["prefix"]
    from .use_service import use_routes  # the stewards' view of use; its handlers build on this module's

    routes = [
        *use_routes(),
        ("", IndexHandler),
        (r"api/entries/?", EntriesHandler),
        (r"api/tables/([^/]+)/?", TableHandler),
        (r"api/zarr/([^/]+)/(.*)", ZarrHandler),
        (r"api/access/?", AccessHandler),
        (r"api/audit/?", AuditHandler),
        *requests_routes(),
    ]
    return hub_service_app(prefix, routes, {"state": state}, NotFound, hub_auth, metrics=state["metrics"].registry)


def uncached_hub_auth():
    """The service's HubOAuth with a cache that keeps nothing (``cache_max_age=0`` means *forever*
    in JupyterHub's cache): every request is identified and authorised by the hub afresh."""
    from jupyterhub.services.auth import HubOAuth, _ExpiringDict

    class NoCache(_ExpiringDict):
        def __setitem__(self, key, value):
            pass

    hub_auth = HubOAuth.instance()
    hub_auth.cache = NoCache()
    return hub_auth


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = load_config()
    lock = hold_service_lock(cfg["state_dir"], "data")  # noqa: F841 - held for the life of the service
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10102"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/data/")
    hub_auth = uncached_hub_auth()
    app = make_app(cfg, prefix, hub_auth)
    if GrantStore(grants_path(cfg["state_dir"])).ensure():
        # Decided: memberships made before the service kept its own record are not trusted.
        log.warning("no grants file yet: created %s empty; hub group memberships made before it grant nothing "
                    "until a steward grants them again with `occidata access grant`", grants_path(cfg["state_dir"]))
    app.listen(url.port, address=url.hostname or "127.0.0.1")
    note = "" if mode_of(cfg).serves_restricted else f" ({cfg['mode']} mode: restricted datasets are not served)"
    log.info("data service on %s%s for %s%s", url.geturl(), prefix, cfg["data_dir"], note)
    state = service_state(cfg, prefix)
    ioloop.PeriodicCallback(lambda: reconcile(hub_auth, state), RECONCILE_EVERY_MS).start()
    # Rights past their end are revoked by the platform itself, at start too (a right that ended
    # while the service was down goes at once), then every expiry_check_every seconds.
    from .requests_service import expire_and_notify

    async def expire() -> None:
        try:
            await expire_and_notify(hub_auth, state)
        except Exception:  # noqa: BLE001 - the next round tries again; ended grants are not honoured anyway
            log.exception("revoking the rights past their end failed")

    ioloop.IOLoop.current().add_callback(expire)
    ioloop.PeriodicCallback(expire, cfg["data_service"]["expiry_check_every"] * 1000).start()
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
