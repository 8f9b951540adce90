"""The `occidata` command: `occidata up | down | config show | kernels install | data ingest`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from .config import ConfigError, load_config, redact
from .datasets.schema import SchemaError
from .kernels import install_kernels
from .platform import REPO_ROOT, PlatformError, hub_url, read_pid, start_hub, stop_hub, wait_until_ready
from .state import StatePaths


def cmd_up(args) -> int:
    cfg = load_config()
    config_file = Path(args.config_file).resolve()
    if not config_file.is_file():
        raise PlatformError(f"{config_file} does not exist; pass --config-file with the repository's jupyterhub_config.py")
    state = StatePaths(Path(cfg["state_dir"])).prepare()
    Path(cfg["data_dir"]).mkdir(parents=True, exist_ok=True)
    print(f"Kernels installed: {', '.join(install_kernels())}")
    url = hub_url(cfg)
    running = read_pid(state.hub_pid)
    if running:
        print(f"The Occitanie Data Lab is already running (pid {running}) at {url}")
        return 0
    print(f"Starting JupyterHub ({cfg['mode']} mode, state in {state.root}) ", end="", flush=True)
    process = start_hub(cfg, config_file)
    seconds = wait_until_ready(url, process, state.hub_log, progress=lambda: print(".", end="", flush=True))
    print(f" ready in {seconds:.1f} s")
    print(f"\n  Occitanie Data Lab: {url}\n  Logs: {state.hub_log}\n  Stop: make down\n")
    if cfg["mode"] == "demo":
        print("  Demo mode: every server runs as this system user; restricted datasets are not served at all.")
    print_login_help(cfg, state)
    return 0


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


def cmd_data_ingest(args) -> int:
    from .datasets.ingest import ingest

    print(ingest(args.dataset, args.file, load_config()["data_dir"], fmt=args.format))
    return 0


def build_parser() -> argparse.ArgumentParser:
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
    ingest.set_defaults(func=cmd_data_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, PlatformError, SchemaError) as error:
        print(f"\noccidata: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
