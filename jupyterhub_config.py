"""JupyterHub configuration of the Occitanie Data Lab.

Thin on purpose: all logic is in occidata.hub, configured by occidata.config
(defaults, then $OCCIDATA_CONFIG, then OCCIDATA_* variables). Site snippets in
jupyterhub_config.d/*.py (or hub.config_d) are loaded last, as in The Littlest JupyterHub.
"""

import sys
from glob import glob
from pathlib import Path

from occidata.config import ConfigError, load_config
from occidata.hub import apply
from occidata.hub.audit_hooks import install_audit_hooks

c = get_config()  # noqa: F821 (provided by JupyterHub)
here = Path(__file__).resolve().parent

try:
    cfg = load_config()
    apply(c, cfg, root=here)
    install_audit_hooks(cfg)  # this process is the hub: its group, role and admin changes are audited
except ConfigError as error:
    print(f"occidata: {error}", file=sys.stderr)
    sys.exit(2)

for snippet in sorted(glob(str(Path(cfg["hub"]["config_d"] or here / "jupyterhub_config.d") / "*.py"))):
    load_subconfig(snippet)  # noqa: F821 (provided by JupyterHub)
