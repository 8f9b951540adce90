"""The `occidata` command: `occidata up | down | config show | kernels install | data build|ingest|ingests|undo-ingest |
catalog ... | report run|list | audit verify|query|prune | access grant|revoke|list|use|request|requests|approve|refuse|withdraw |
usage | metrics scrape-config`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from .config import ConfigError, load_config, redact
from .modes import mode_of
from .catalog import CatalogError
from .datasets import UnknownDatasetError
from .datasets.schema import SchemaError
from .kernels import install_kernels
from .platform import REPO_ROOT, PlatformError, hub_url, read_pid, start_hub, stop_hub, wait_until_ready
from .privacy.disclosure import K
from .state import StatePaths


def stop_command() -> str:
    """The command that stops this platform: ``make down``, preceded by the ``OCCIDATA_*``
    settings this one was started with (another state directory, other ports), if any."""
    import shlex

    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith("OCCIDATA_"))
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in settings), "make down"])


def cmd_up(args) -> int:
    cfg = load_config()
    config_file = Path(args.config_file).resolve()
    if not config_file.is_file():
        raise PlatformError(f"{config_file} does not exist; pass --config-file with the repository's jupyterhub_config.py")
    if mode_of(cfg).batch:
        # Before anything is made (data on a disk the nodes do not share would be lost work).
        from .slurm.checks import require_head_node

        require_head_node(cfg, config_file.parent)
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    Path(cfg["data_dir"]).mkdir(parents=True, exist_ok=True)
    print(f"Kernels installed: {', '.join(install_kernels())}")
    ensure_demo_data(cfg)
    url = hub_url(cfg)
    running = read_pid(state.hub_pid)
    if running:
        print(f"The Occitanie Data Lab is already running (pid {running}) at {url}")
        return 0
    print(f"Starting JupyterHub ({cfg['mode']} mode, state in {state.root}) ", end="", flush=True)
    process = start_hub(cfg, config_file)
    try:
        seconds = wait_until_ready(url, process, state.hub_log, progress=lambda: print(".", end="", flush=True))
    except PlatformError:
        stop_hub(cfg)  # nothing of a failed start stays behind (its proxy, its services)
        raise
    print(f" ready in {seconds:.1f} s")
    print(f"\n  Occitanie Data Lab: {url}\n  Logs: {state.hub_log}\n  Stop: {stop_command()}\n")
    if cfg["dashboards"]["enabled"]:
        print(f"  Public dashboards (no account): {url}services/dashboards/ (first snapshots render in the background)")
    if cfg["catalogue_pages"]["enabled"]:
        print(f"  Data catalogue (no account for public entries): {url}services/catalogue/")
    for line in mode_of(cfg).startup_lines(cfg, url):
        print(line)
    print_login_help(cfg, state)
    return 0


def buildable(cfg: dict) -> list[str]:
    """The datasets this mode may write: demo mode never writes restricted (personal) data,
    since nothing in it keeps researchers apart."""
    from .datasets import get_dataset, names

    if mode_of(cfg).serves_restricted:
        return names()
    return [name for name in names() if get_dataset(name).METADATA["access"] != "restricted"]


def ensure_demo_data(cfg: dict) -> None:
    """Build the demo datasets the data directory does not have yet, then close non-public ones."""
    from .datasets.build import build_all, origin_summary, read_manifest
    from .datasets.sources import real_data_dir

    missing = [name for name in buildable(cfg) if name not in read_manifest(cfg["data_dir"])]
    if missing:
        print(f"Building demo data ({len(missing)} datasets) in {cfg['data_dir']}")
        build_all("demo", cfg["data_dir"], only=missing)
    for line in origin_summary(read_manifest(cfg["data_dir"]), real_data_dir(cfg)):
        print(f"  {line}")
    if not mode_of(cfg).own_accounts:  # a mode with its own accounts secures its data as it prepares
        secure_data(cfg)


def print_login_help(cfg: dict, state: StatePaths) -> None:
    if cfg["auth"]["type"] != "native":
        print(f"  Log in with {cfg['auth']['oauth']['login_service']} (OpenID Connect).")
        return
    password_file = state.initial_admin_password
    if password_file.exists():
        name, password = password_file.read_text().split("\n")[:2]
        print("  First start: an administrator account was created. This password is shown ONCE:")
        print(f"    user:     {name}\n    password: {password}")
        print("  Change it after logging in (menu « Changer le mot de passe »).")
        password_file.unlink()
    else:
        print(f"  Log in as '{cfg['auth']['admin']}' with the password shown at first start.")
    print("  Researchers sign up at /hub/signup; an admin approves them at /hub/authorize.")


def cmd_down(args) -> int:
    cfg = load_config()
    print("Stopped the Occitanie Data Lab." if stop_hub(cfg) else "Nothing was running.")
    return 0


def cmd_config_show(args) -> int:
    yaml.safe_dump(redact(load_config()), sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


def cmd_kernels_install(args) -> int:
    print(f"Installed kernels: {', '.join(install_kernels())} into {sys.prefix}")
    return 0


def secure_data(cfg: dict) -> None:
    """New data files get the owner and modes of their access level at once: non-public ones are
    readable by the data service's account only (server mode), or by the account that runs the
    demo (so no other account of the machine, nor the publication gate's throwaway accounts)."""
    from .hub.isolation import secure_data_dir

    owner = mode_of(cfg).data_owner(cfg)
    secure_data_dir(cfg["data_dir"], owner)
    print(f"Data directory secured: non-public datasets readable by {owner} only")


def cmd_data_ingest(args) -> int:
    from .datasets.ingest import ProvenanceError, ingest

    cfg = load_config()
    try:
        summary = ingest(args.dataset, args.file, cfg["data_dir"], fmt=args.format, encoding=args.encoding,
                         replace=args.replace)
    except (SchemaError, ProvenanceError) as error:  # one French line naming the file
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    print(summary)
    secure_data(cfg)
    return 0


def cmd_data_ingests(args) -> int:
    from .datasets.ingest import ProvenanceError, describe_ingests, ingest_records, ingestable

    cfg = load_config()
    try:
        listing = {name: ingest_records(cfg["data_dir"], name) for name in ([args.dataset] if args.dataset
                                                                             else sorted(ingestable()))}
    except (SchemaError, ProvenanceError) as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    lines = [line for name, records in listing.items() for line in describe_ingests(name, records)]
    print("\n".join(lines) if lines else "no ingest recorded")
    return 0


def cmd_data_undo_ingest(args) -> int:
    from .datasets.ingest import ProvenanceError, check_ingestable
    from .datasets.provenance import undo_ingest

    cfg = load_config()
    try:
        check_ingestable(args.dataset)
        record = undo_ingest(cfg["data_dir"], args.dataset, args.id)
    except (SchemaError, ProvenanceError) as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    print(f"Undid ingest {record['id']} of {args.dataset} ({record['source']['name']}): removed "
          f"{record['rows']['kept']} stored row(s) in {len(record['files'])} file(s); recorded as undone by "
          f"{record['undone_by']} at {record['undone_at']}")
    secure_data(cfg)
    return 0


def cmd_data_build(args) -> int:
    from .datasets.build import build_all

    cfg = load_config()
    from .datasets import names

    allowed = buildable(cfg)
    refused = [name for name in args.only or [] if name in names() and name not in allowed]
    if refused:
        print(f"occidata: {', '.join(refused)}: restricted datasets are never written in demo mode "
              "(use server mode, where only the data service's account can read them)", file=sys.stderr)
        return 2
    print(f"Building {args.size} data in {cfg['data_dir']}")
    build_all(args.size, cfg["data_dir"], seed=args.seed, only=args.only or allowed)
    secure_data(cfg)
    return 0


def cmd_catalog_list(args) -> int:
    from . import catalog

    for entry in catalog.list_entries():
        print(f"{entry['name']:<22} {entry['access']:<10} {entry['kind']:<5} {entry['title_fr']}")
    return 0


def cmd_catalog_search(args) -> int:
    from . import catalog

    filters = dict(item.split("=", 1) for item in args.where)
    for name in catalog.search(args.text, **filters):
        print(name)
    return 0


def cmd_catalog_show(args) -> int:
    from . import catalog

    yaml.safe_dump(catalog.show(args.name), sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


def cmd_catalog_load(args) -> int:
    import pandas as pd

    from . import catalog

    # A refusal (PermissionError) is printed by main() as one line: the level, who grants it, the page.
    loaded = catalog.load(args.name, **({"year": args.year} if args.year is not None else {}))
    if isinstance(loaded, pd.DataFrame):
        print(f"{args.name}: {len(loaded)} rows")
        print(loaded.head(args.rows).to_string())
    else:
        print(loaded)
    return 0


def cmd_catalog_generate(args) -> int:
    from .catalog.spec import CATALOG_PATH, render_catalog
    from .atomic import write_atomic

    write_atomic(CATALOG_PATH, render_catalog())
    print(f"Wrote {CATALOG_PATH}")
    return 0


def cmd_catalog_dcat(args) -> int:
    import json

    from .atomic import write_atomic
    from .catalog.dcat import dcat_catalog

    document = dcat_catalog(load_config())
    count = len(document["dcat:dataset"])
    if args.check:
        from .catalog.dcat_check import ERROR, check_dcat, summary

        findings = check_dcat(document)
        for finding in findings:
            print(finding.line())
        print(summary(findings, count))
        if any(f.severity == ERROR for f in findings):
            if args.output:
                print(f"{args.output} n'est pas écrit : le catalogue n'est pas conforme.")
            return 2
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.output:
        write_atomic(args.output, text)
        print(f"Catalogue DCAT-AP écrit dans {args.output} ({count} jeux publics)")
    elif not args.check:
        sys.stdout.write(text)
    return 0


def cmd_report_run(args) -> int:
    from .reports.parameters import ParameterError
    from .reports.runner import ReportError, run_report

    given = dict(args.param or [])
    try:
        record = run_report(args.notebook, given, kernel=args.kernel, timeout=args.timeout, archive_dir=args.archive)
    except (ParameterError, ReportError) as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    if record.ok:
        print(f"Report {record.name} ran in {record.duration_s:.1f} s: {record.folder}")
        return 0
    error = record.error or {}
    print(f"occidata: report {record.name} failed ({error.get('name')}: {error.get('message')}); "
          f"partial notebook and traceback in {record.folder}", file=sys.stderr)
    return 1


def cmd_report_list(args) -> int:
    from .reports.archive import list_runs

    for record in list_runs(args.archive, args.name):
        params = " ".join(f"{k}={v}" for k, v in record.parameters.items())
        print(f"{record.name:<24} {record.run_id:<32} {record.status:<6} {record.duration_s:>7.1f} s  {params}")
    return 0


def _audit_log(args) -> Path:
    return Path(args.log) if args.log else StatePaths(Path(load_config()["state_dir"])).logs / "audit.jsonl"


def _audit_date(text: str):
    """An argparse type for --since/--until: a day, YYYY-MM-DD."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD, e.g. 2024-05-01)") from None


def cmd_audit_verify(args) -> int:
    from .privacy.audit import check_audit

    log = _audit_log(args)
    # The root key is the platform's (<state_dir>/secrets/audit-root.key), whichever log is named.
    check = check_audit(log, state_dir=load_config()["state_dir"])
    if check.problems:
        print(f"occidata: the audit log {log} has {len(check.problems)} problem(s):", file=sys.stderr)
        for problem in check.problems:
            print(f"  {problem}", file=sys.stderr)
        for note in check.notes:
            print(f"  note: {note}", file=sys.stderr)
        return 1
    if check.keyed or not check.records:
        print(f"audit log intact: {check.records} records ({log})")
    else:
        print(f"audit log: {check.records} records, hash chain intact, NOT keyed ({log})")
    for note in check.notes:
        print(f"  note: {note}")
    return 0


def cmd_audit_query(args) -> int:
    import json

    from .privacy.audit import query_audit

    from .hub.access import AccessError, query_audit_remote

    filters = dict(user=args.user, dataset=args.dataset, event=args.event, since=args.since, until=args.until)
    log = _audit_log(args)
    try:
        if args.log is None and not os.access(log, os.R_OK):
            # A steward in a lab (server mode): the log is the data service's; ask it.
            records = query_audit_remote(cfg=load_config(), **filters)
        else:
            records = query_audit(log, **filters)
    except (ValueError, AccessError) as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    if args.json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return 0
    if not records:
        print("no audit records match")
        return 0
    skip = {"seq", "when", "event", "who", "what", "prev", "hash"}
    rows = [(str(r.get("seq", "")), str(r.get("when", "")), str(r.get("event", "")), str(r.get("who", "")),
             str(r.get("what", "") or ""),
             " ".join(f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}"
                      for k, v in sorted(r.items()) if k not in skip))
            for r in records]
    header = ("seq", "when (UTC)", "event", "who (pseudonym)", "dataset", "details")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])
    print(f"{len(records)} record(s)")
    return 0


def cmd_access(args) -> int:
    from .hub.access import AccessError, change_access, list_access

    cfg = load_config()
    try:
        if args.action == "list":
            print_access(list_access(cfg=cfg, url=args.url, token=args.token))
            return 0
        answer = change_access(args.action, args.user, args.level, cfg=cfg, url=args.url, token=args.token)
    except AccessError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 1
    if answer.get("status") == "pending":
        print(f"{answer.get('message')}\n(audited: grant_requested; {args.level} is not granted yet)")
        return 0
    done = "granted to" if args.action == "grant" else "revoked from"
    print(f"{args.level} {done} {args.user} (audited); members now: {', '.join(answer.get('members', [])) or '(nobody)'}")
    return 0


def cmd_access_requests(args) -> int:
    from .hub.access import AccessError, decide_request, list_requests, request_access

    cfg = load_config()
    try:
        if args.action == "request":
            answer = request_access(args.dataset, purpose=args.purpose, project=args.project, end=args.end, cfg=cfg,
                                    url=args.url, token=args.token)
            print(f"Demande {answer['id']} envoyée : « {answer['level']} » jusqu'au {answer['until']} ; "
                  "les intendants des données l'examinent (occidata access requests).")
        elif args.action == "requests":
            print_requests(list_requests(cfg=cfg, url=args.url, token=args.token))
        else:
            answer = decide_request(args.id, args.action, reason=getattr(args, "reason", None), cfg=cfg, url=args.url,
                                    token=args.token)
            print(f"Demande {answer['id']} : {answer['state']} ({len(answer['approvals'])} accord(s)) ; audité.")
    except AccessError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 1
    return 0


def print_requests(overview: dict) -> None:
    """The data service's ``api/requests`` answer as researchers and stewards read it."""
    for right in overview["rights"]:
        print(f"droit : {right['level']} jusqu'au {right.get('until') or 'sans fin'}")
    for title, rows in (("vos demandes", overview["mine"]), ("à examiner", overview.get("open"))):
        if rows is None:
            continue
        print(f"{title} :" if rows else f"{title} : aucune")
        for r in rows:
            print(f"  {r['id']}  {r['user']:<14} {r['level']:<30} {r['state']:<9} jusqu'au {r['until']}  "
                  f"projet « {r['project']} » — {r['purpose']}")


def _month(option: str):
    """An argparse type for ``option``, a month YYYY-MM."""
    def month(text: str) -> str:
        from .catalog.use import UseError, parse_month

        try:
            parse_month(text, option)
        except UseError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return text

    return month


def cmd_access_use(args) -> int:
    import json

    from .catalog.use import render_text
    from .hub.access import AccessError, use_view

    try:
        view = use_view(cfg=load_config(), url=args.url, token=args.token, month_from=args.since,
                        month_to=args.until, names=args.names)
    except AccessError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 1
    print(json.dumps(view, ensure_ascii=False, indent=1) if args.json else render_text(view))
    return 0


def print_access(listing: dict) -> None:
    """The data service's ``api/access`` answer as stewards read it."""
    for level, members in sorted(listing.get("members", {}).items()):
        print(f"{level}: {', '.join(members) or '(nobody)'}")
    pending = listing.get("pending", [])
    if pending:
        print("pending (a second steward must grant them / en attente d'un second intendant):")
        for request in pending:
            print(f"  {request['level']} for {request['user']}, requested by {request['by']} at {request['when']}")
    ungranted = {level: users for level, users in listing.get("not_granted", {}).items() if users}
    if ungranted:
        print("hub group members NOT granted through the data trust (they get no access):")
        for level, users in sorted(ungranted.items()):
            print(f"  {level}: {', '.join(users)}")


def cmd_audit_prune(args) -> int:
    from .privacy.audit import AuditError, prune_audit

    cfg = load_config()
    days = cfg["audit"]["retention_days"]
    log = _audit_log(args)
    try:
        result = prune_audit(log, days, state_dir=cfg["state_dir"])
    except AuditError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 1
    if result["removed"]:
        print(f"Removed {result['removed']} audit record(s) older than {days} days (before {result['cutoff']}); "
              f"kept {result['kept']}, the chain now starts from the anchor at seq {result['anchor']['seq']}.")
    else:
        print(f"Nothing to remove: no audit record is older than {days} days ({result['kept']} kept).")
    return 0


def cmd_usage(args) -> int:
    from .usage import UsageError, render_json, render_table, usage_report

    try:
        report = usage_report(load_config(), since=args.since, until=args.until, jobcomp=args.jobcomp)
    except UsageError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    print(render_json(report) if args.json else render_table(report))
    for skipped in report.skipped:  # never dropped in silence
        print(f"occidata: ligne ignorée / skipped line: {skipped}", file=sys.stderr)
    return 0


def cmd_metrics_scrape_config(args) -> int:
    from .atomic import write_atomic
    from .hub.prometheus import prometheus_token, scrape_config

    if args.interval < 1:
        print(f"occidata: --interval {args.interval}: at least 1 second", file=sys.stderr)
        return 2
    cfg = load_config()
    prometheus_token(cfg)  # made here if the hub never started: the hub takes the same one
    text = yaml.safe_dump(scrape_config(cfg, args.token_file, args.interval), sort_keys=False)
    if args.output:
        write_atomic(args.output, text)
        print(f"Prometheus configuration written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_publish(args) -> int:
    from .dashboards.gate import GateError, PublicationRefused, publish_notebook

    print(f"Publication gate for {args.notebook} (counts under {args.k} refused)")
    try:
        target = publish_notebook(args.notebook, approved_by=args.approved_by, k=args.k, replace=args.replace,
                                  progress=lambda line: print(f"  {line}", flush=True))
    except GateError as error:
        print(f"occidata: {error}", file=sys.stderr)
        return 2
    except PublicationRefused as refused:
        result = refused.result
        print(f"occidata: {result.notebook.name} is refused ({len(result.reasons)} reason(s)); nothing was installed:",
              file=sys.stderr)
        for reason in result.reasons:
            print(f"  - {reason}", file=sys.stderr)
        if result.executed is not None:
            print(f"  the public run is in {Path(result.executed).parent}", file=sys.stderr)
        return 1
    print(f"Published: {target} (approval recorded in the audit log)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .privacy.audit import EVENTS

    parser = argparse.ArgumentParser(prog="occidata", description="The Occitanie Data Lab platform.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the platform (safe to run again)")
    up.add_argument("--config-file", default=str(REPO_ROOT / "jupyterhub_config.py"))
    up.set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop what `occidata up` started").set_defaults(func=cmd_down)
    config = commands.add_parser("config", help="inspect the configuration").add_subparsers(dest="action", required=True)
    config.add_parser("show", help="print the merged configuration, secrets hidden").set_defaults(func=cmd_config_show)
    kernels = commands.add_parser("kernels", help="manage kernelspecs").add_subparsers(dest="action", required=True)
    kernels.add_parser("install", help="install kernels/ into this environment").set_defaults(func=cmd_kernels_install)
    data = commands.add_parser("data", help="datasets").add_subparsers(dest="action", required=True)
    ingest = data.add_parser("ingest", help="validate a provider file and store it (bad rows quarantined)")
    ingest.add_argument("dataset", help="e.g. air_quality_hourly")
    ingest.add_argument("file", help="the provider's file")
    ingest.add_argument("--format", default=None, help="the provider format (default: the dataset's first)")
    ingest.add_argument("--encoding", default=None,
                        help="the file's encoding, e.g. cp1252 (default: detected, UTF-8 with or without BOM, "
                             "then Windows-1252, then Latin-1)")
    ingest.add_argument("--replace", action="store_true",
                        help="replace the rows of earlier ingests of a file of the same name (recorded)")
    ingest.set_defaults(func=cmd_data_ingest)
    ingests = data.add_parser("ingests", help="list the recorded ingests (source, checksum, who, when, rows)")
    ingests.add_argument("dataset", nargs="?", default=None, help="only this dataset")
    ingests.set_defaults(func=cmd_data_ingests)
    undo = data.add_parser("undo-ingest", help="remove the rows one ingest stored (recorded as undone)")
    undo.add_argument("dataset", help="e.g. air_quality_hourly")
    undo.add_argument("id", help="the ingest's number, as `occidata data ingests` lists it")
    undo.set_defaults(func=cmd_data_undo_ingest)
    build = data.add_parser("build", help="generate and store every dataset")
    build.add_argument("--size", choices=["tiny", "demo", "full"], default="demo")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--only", action="append", metavar="DATASET", help="build only this dataset (repeatable)")
    build.set_defaults(func=cmd_data_build)
    cat = commands.add_parser("catalog", help="the Intake catalogue").add_subparsers(dest="action", required=True)
    cat.add_parser("list", help="every entry with its access level").set_defaults(func=cmd_catalog_list)
    search = cat.add_parser("search", help="entries matching text and metadata (key=value)")
    search.add_argument("text", nargs="?", default="")
    search.add_argument("--where", action="append", default=[], metavar="KEY=VALUE")
    search.set_defaults(func=cmd_catalog_search)
    show = cat.add_parser("show", help="an entry's metadata")
    show.add_argument("name")
    show.set_defaults(func=cmd_catalog_show)
    load = cat.add_parser("load", help="load an entry (with your access levels) and print its first rows")
    load.add_argument("name")
    load.add_argument("--year", type=int, help="the year to load, for tables built by year")
    load.add_argument("--rows", type=int, default=5, help="how many rows to print (default 5)")
    load.set_defaults(func=cmd_catalog_load)
    cat.add_parser("generate", help="rewrite catalog/catalog.yaml from the dataset modules").set_defaults(func=cmd_catalog_generate)
    dcat = cat.add_parser("dcat", help="the public entries as DCAT-AP (JSON-LD), for open-data portals")
    dcat.add_argument("--output", metavar="FILE", help="write it to FILE (atomically) instead of printing it")
    dcat.add_argument("--check", action="store_true",
                      help="validate it against occidata/catalog/dcat_ap_shapes.ttl; exit 2 on any error")
    dcat.set_defaults(func=cmd_catalog_dcat)
    report = commands.add_parser("report", help="run notebooks as archived reports").add_subparsers(dest="action", required=True)
    run = report.add_parser("run", help="check the parameters, execute with papermill, archive the run")
    run.add_argument("notebook", help="the .ipynb, e.g. notebooks/air_quality/daily_report.ipynb")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="a parameter (repeatable)")
    run.add_argument("--kernel", choices=["occidata-cpu", "occidata-gpu"], default=None,
                     help="default: the notebook's kernelspec, else occidata-cpu")
    run.add_argument("--timeout", type=float, default=600, help="seconds allowed per cell (default 600)")
    run.add_argument("--archive", default=None, help="archive root (default <state_dir>/reports)")
    run.set_defaults(func=cmd_report_run)
    runs = report.add_parser("list", help="archived runs, newest first")
    runs.add_argument("name", nargs="?", default=None, help="only this report (the notebook's name)")
    runs.add_argument("--archive", default=None, help="archive root (default <state_dir>/reports)")
    runs.set_defaults(func=cmd_report_list)
    audit = commands.add_parser("audit", help="the audit log (stewards)").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="check the hash chain, the MACs and the key state (as root in server "
                                             "mode); exit 1 and one line per problem if damaged")
    query = audit.add_parser("query", help="audit records matching filters (a table, or --json)")
    query.add_argument("--user", default=None, help="a clear user name (matched through its pseudonym)")
    query.add_argument("--dataset", default=None, help="e.g. health_admissions")
    query.add_argument("--event", default=None, choices=EVENTS)
    query.add_argument("--since", type=_audit_date, default=None, metavar="YYYY-MM-DD", help="from this day on")
    query.add_argument("--until", type=_audit_date, default=None, metavar="YYYY-MM-DD", help="up to this day, included")
    query.add_argument("--json", action="store_true", help="one JSON record a line instead of a table")
    prune = audit.add_parser("prune", help="remove records older than audit.retention_days (the chain stays verifiable)")
    for sub, func in ((verify, cmd_audit_verify), (query, cmd_audit_query), (prune, cmd_audit_prune)):
        sub.add_argument("--log", default=None, help="the log (default <state_dir>/logs/audit.jsonl)")
        sub.set_defaults(func=func)
    access = commands.add_parser("access", help="data access levels of hub users (stewards)").add_subparsers(
        dest="action", required=True)
    for action, text in (("grant", "grant a user a level (restricted:*: a second steward must grant it too)"),
                         ("revoke", "take a level back")):
        change = access.add_parser(action, help=f"{text}; audited")
        change.add_argument("user", help="the hub user name (never yourself)")
        change.add_argument("level", help="partner, or restricted:<dataset> (e.g. restricted:health_admissions)")
    listing = access.add_parser("list", help="who holds each level, pending grants, memberships the trust did not grant")
    use = access.add_parser("use", help="who holds which level until when, reads per month, server and GPU hours "
                                        "per hub group (readers as pseudonyms)")
    use.add_argument("--names", action="store_true", help="show readers' names (the asking is audited)")
    use.add_argument("--since", type=_month("--since"), default=None, metavar="YYYY-MM", help="first month (default: 11 months ago)")
    use.add_argument("--until", type=_month("--until"), default=None, metavar="YYYY-MM", help="last month (default: this month)")
    use.add_argument("--json", action="store_true", help="the data service's JSON instead of the tables")
    ask = access.add_parser("request", help="ask for the level an entry needs, with a purpose, a project and an end date")
    ask.add_argument("dataset", help="the catalogue entry (e.g. agri_sensors)")
    ask.add_argument("--purpose", required=True, help="why you need these data")
    ask.add_argument("--project", required=True, help="the project")
    ask.add_argument("--end", required=True, metavar="YYYY-MM-DD", help="last day of the access (at most the level's maximum)")
    mine = access.add_parser("requests", help="your requests and rights; for stewards, the requests waiting")
    decisions = [ask, mine]
    for action, text in (("approve", "approve a request (stewards; restricted:*: two different stewards)"),
                         ("refuse", "refuse a request with a reason (stewards)"),
                         ("withdraw", "withdraw your own request")):
        decision = access.add_parser(action, help=f"{text}; audited")
        decision.add_argument("id", help="the request (r-YYYYMMDD-xxxxxx, see `occidata access requests`)")
        if action == "refuse":
            decision.add_argument("--reason", required=True, help="why, as the requester will read it")
        decisions.append(decision)
    for sub in (access.choices["grant"], access.choices["revoke"], listing, use, *decisions):
        sub.add_argument("--url", default=None, help="the data service (default $OCCIDATA_DATA_SERVICE_URL, else this hub's)")
        sub.add_argument("--token", default=None,
                         help="your own hub token from /hub/token ('-': ask for it); default $OCCIDATA_TOKEN. "
                              "A lab server's $JUPYTERHUB_API_TOKEN may list but not grant or revoke")
        sub.set_defaults(func=cmd_access)
    use.set_defaults(func=cmd_access_use)
    for sub in decisions:
        sub.set_defaults(func=cmd_access_requests)
    usage = commands.add_parser("usage", help="CPU-hours, GPU-hours and jobs (or servers) per user and hub group "
                                              "over a period (Slurm's records in slurm mode, else the hub's)")
    usage.add_argument("--since", type=_audit_date, default=None, metavar="YYYY-MM-DD",
                       help="first day, Europe/Paris (default: the first of the current month)")
    usage.add_argument("--until", type=_audit_date, default=None, metavar="YYYY-MM-DD",
                       help="last day, included (default: the end of the current month)")
    usage.add_argument("--jobcomp", default=None, metavar="FILE",
                       help="Slurm's job completion records (default in slurm mode: JobCompLoc of scontrol show config)")
    usage.add_argument("--json", action="store_true", help="one JSON document instead of the tables")
    usage.set_defaults(func=cmd_usage)
    metrics = commands.add_parser("metrics", help="the platform's Prometheus metrics").add_subparsers(
        dest="action", required=True)
    scrape = metrics.add_parser("scrape-config", help="a Prometheus configuration scraping /hub/metrics and the "
                                                      "services' metrics with the hub service prometheus's token")
    scrape.add_argument("--output", metavar="FILE", help="write it to FILE (atomically) instead of printing it")
    scrape.add_argument("--token-file", metavar="FILE", default=None,
                        help="where Prometheus reads the token (default <state_dir>/secrets/prometheus-token; "
                             "a Prometheus running as another account needs a copy it may read)")
    scrape.add_argument("--interval", type=int, default=15, metavar="SECONDS", help="scrape interval (default 15)")
    scrape.set_defaults(func=cmd_metrics_scrape_config)
    publish = commands.add_parser("publish", help="gate a notebook (public access, no count under k) and install it as a dashboard")
    publish.add_argument("notebook", help="the .ipynb; its name is the dashboard's address, e.g. comptages-velo.ipynb")
    publish.add_argument("--approved-by", required=True, metavar="STEWARD", help="the data steward who approves it")
    publish.add_argument("--replace", action="store_true", help="replace a dashboard of the same name")
    publish.add_argument("--k", type=int, default=K, help=f"smallest count a table may show (default {K})")
    publish.set_defaults(func=cmd_publish)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        # The reader went away (`occidata config show | head`): nothing is wrong. As the Python docs
        # (signal module, "Note on SIGPIPE") advise, send what is left of stdout to devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ConfigError, PlatformError, SchemaError, CatalogError, PermissionError, UnknownDatasetError) as error:
        print(f"\noccidata: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
