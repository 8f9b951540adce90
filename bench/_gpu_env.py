"""The environment of ``make gpu-check``: what a GPU image lacks, and a virtualenv over that image.

The GPU machines have no network and an image that already holds CuPy (CUDA 13), Numba,
numba-cuda, NumPy, SciPy, xarray, pandas, pyarrow, pytest and hypothesis. The GPU check needs
only a few packages more (:data:`CHECK_NEEDS`): ``make gpu-wheels`` downloads them as wheels
where there is a network (bench/gpu_wheels.py), and :func:`prepare_env` installs them offline
into a virtualenv that sees the image's packages.

The whole runtime of occidata (JupyterHub, JupyterLab, Voilà...) is not installed there: the
analyses and their tests do not import it, and its wheels (about 90 MB) would not fit in what a
device run may carry. occidata itself is put on the path by a ``.pth`` file (an editable
install without building anything).
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: What the GPU check imports that the GPU image lacks: tests/compute imports dask.array and
#: pykrige when collected; pytest-timeout reads pyproject's ``timeout``. Their versions come
#: from pyproject.toml (see :func:`check_requirements`).
CHECK_NEEDS = ("dask", "pykrige", "pytest-timeout")

#: Packages the GPU image has, heavy ones among them: never downloaded into the wheel folder.
IMAGE_HAS = frozenset({
    "cupy-cuda12x", "cupy-cuda13x", "numba", "numba-cuda", "llvmlite", "numpy", "scipy",
    "xarray", "pandas", "pyarrow", "pytest", "hypothesis",
})

#: Written by bench/gpu_wheels.py beside the wheels: the Python they were downloaded for.
TARGET_FILE = "TARGET"


class EnvError(RuntimeError):
    """The check's environment cannot be made; the message says what to do."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyKrige`` -> ``pykrige``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The canonical distribution name at the start of a PEP 508 requirement."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"requirement {requirement!r}: no distribution name at its start")
    return canonical(match.group(1))


def check_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """:data:`CHECK_NEEDS` as requirements, with the pins pyproject.toml gives them (their home)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lists = [project.get("dependencies", [])] + list(project.get("optional-dependencies", {}).values())
    pinned = {requirement_name(r): r.split(";")[0].strip() for reqs in lists for r in reqs}
    missing = [n for n in CHECK_NEEDS if canonical(n) not in pinned]
    if missing:
        raise EnvError(f"{pyproject}: {', '.join(missing)} not among the dependencies or extras "
                       "(bench/_gpu_env.py CHECK_NEEDS names them)")
    return [pinned[canonical(n)] for n in CHECK_NEEDS]


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def create_venv(venv: Path) -> Path:
    """A fresh virtualenv at ``venv`` that sees this interpreter's packages; returns its python.

    ``venv --system-site-packages`` alone is not enough: when this interpreter is itself a
    virtualenv (the GPU image's python3 is /opt/torch/.venv/bin/python3), the new one would see
    the *base* Python's packages, not CuPy's. A ``.pth`` line runs ``site.addsitedir`` on this
    interpreter's site directories (their own .pth files included), after the virtualenv's own,
    so a wheel installed there takes precedence. ``--without-pip``: no ensurepip is needed
    (Debian and Ubuntu ship Python without it); this interpreter's pip is seen the same way.
    """
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, capture_output=True, text=True)
    python = venv_python(venv)
    own = _site_packages(python)
    parents = [p for p in site.getsitepackages() + [site.getusersitepackages()]
               if os.path.isdir(p) and Path(p) != own]
    (own / "_gpu_check_image.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents) + "\n")
    (own / "_gpu_check_occidata.pth").write_text(f"{REPO}\n")
    return python


def read_target(wheels: Path) -> str | None:
    """The ``X.Y`` Python version the wheel folder was made for, if it says."""
    target = wheels / TARGET_FILE
    if not target.is_file():
        return None
    for line in target.read_text().splitlines():
        if line.startswith("python="):
            return line.split("=", 1)[1].strip()
    return None


def install(python: Path, requirements: list[str], wheels: Path, timeout: float = 300) -> str:
    """Install ``requirements`` offline from ``wheels`` (what the image already has is kept).

    Returns pip's output; raises :class:`EnvError` with a one-line reason when pip fails.
    """
    version = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    made_for = read_target(wheels)
    if made_for and made_for != version:
        raise EnvError(f"{wheels}/ holds wheels for Python {made_for} but this python is {version}: "
                       f"run `make gpu-wheels GPU_PY_VERSION={version}` where there is a network")
    command = [str(python), "-m", "pip", "install", "--no-index", "--no-cache-dir",
               "--disable-pip-version-check", "--no-input"]
    if wheels.is_dir():
        command += ["--find-links", str(wheels)]
    try:
        done = subprocess.run(command + requirements, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EnvError(f"offline install of {' '.join(requirements)} took over {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        why = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1] if lines else "pip failed")
        where = f"{wheels}/" if wheels.is_dir() else f"{wheels}/ (missing)"
        raise EnvError(f"offline install of {' '.join(requirements)} from {where} failed: {why} "
                       "(run `make gpu-wheels` where there is a network and bring the folder along)")
    return done.stdout


def installed_now(pip_output: str) -> list[str]:
    """The distributions pip says it installed (``Successfully installed a-1 b-2``)."""
    for line in pip_output.splitlines():
        if line.startswith("Successfully installed "):
            return line.split(" ", 2)[2].split()
    return []
