"""Install the kernelspecs of kernels/ into the platform's environment."""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

KERNELS_DIR = Path(__file__).resolve().parent.parent / "kernels"


def install_kernels(source: Path = KERNELS_DIR, prefix: str = sys.prefix) -> list[str]:
    """Install every ``kernels/<name>/kernel.json`` under ``prefix``; return the names."""
    manager = KernelSpecManager()
    names = []
    for spec_dir in sorted(p for p in Path(source).iterdir() if (p / "kernel.json").is_file()):
        manager.install_kernel_spec(str(spec_dir), kernel_name=spec_dir.name, prefix=prefix)
        names.append(spec_dir.name)
    return names
