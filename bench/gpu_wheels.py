"""Download the wheels `make gpu-check` installs on a GPU machine with no network (`make gpu-wheels`).

Run where pip reaches a package index. It resolves bench/_gpu_env.py's CHECK_NEEDS (with
pyproject.toml's pins) for the GPU machine's Python (3.12, CPython, manylinux x86_64), leaves
out what the GPU image already has (``IMAGE_HAS``: NumPy, SciPy, CuPy...) and downloads the rest
into the wheel folder (default wheelhouse/, ignored by git: a device run carries it). The folder
is replaced whole, so it never holds two versions of one package, and a ``TARGET`` file says
which Python the wheels are for.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _gpu_env import IMAGE_HAS, REPO, TARGET_FILE, canonical, check_requirements  # noqa: E402

#: The GPU machines' platform tags, newest first (pip matches each tag exactly).
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
#: What a device run may carry in all; the wheels stay well below it.
MAX_BYTES = 48 * 2**20


def _target_options(python_version: str) -> list[str]:
    options = ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]
    for platform in PLATFORMS:
        options += ["--platform", platform]
    return options


def resolver_python(python_version: str, given: str | None) -> str:
    """The Python whose pip resolves: ``given``, else ``pythonX.Y`` when it runs pip, else this one.

    pip evaluates environment markers (``python_version < "3.12"``) for the Python it runs in,
    whatever ``--python-version`` says; with another version a wheel or two too many comes
    along (harmless: the GPU machine's pip skips it) or, rarely, one is missed.
    """
    if given:
        return given
    found = shutil.which(f"python{python_version}")
    if found and subprocess.run([found, "-m", "pip", "--version"], capture_output=True).returncode == 0:
        return found
    mine = "%d.%d" % sys.version_info[:2]
    if mine != python_version:
        print(f"note: no python{python_version} with pip here; resolving with Python {mine}, whose "
              "environment markers may bring a wheel too many (--resolver-python PATH to choose)")
    return sys.executable


def resolve(python: str, requirements: list[str], python_version: str) -> list[tuple[str, str]]:
    """(name, version) of everything ``requirements`` need on the target Python, by pip's resolver."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--disable-pip-version-check", "--report", str(report), "--target", str(Path(tmp) / "t"),
                        *_target_options(python_version), *requirements], check=True)
        items = json.loads(report.read_text())["install"]
    return [(item["metadata"]["name"], item["metadata"]["version"]) for item in items]


def download(dest: Path, python_version: str, python: str) -> list[Path]:
    """Fill ``dest`` (replaced whole) with the wheels the image lacks; returns them."""
    requirements = check_requirements()
    wanted = [(n, v) for n, v in resolve(python, requirements, python_version) if canonical(n) not in IMAGE_HAS]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}.tmp-", dir=dest.parent))
    try:
        if wanted:
            subprocess.run([python, "-m", "pip", "download", "--no-deps", "--quiet",
                            "--disable-pip-version-check", "-d", str(tmp), *_target_options(python_version),
                            *(f"{n}=={v}" for n, v in wanted)], check=True)
        (tmp / TARGET_FILE).write_text(
            f"python={python_version}\nplatforms={' '.join(PLATFORMS)}\nrequirements={' '.join(requirements)}\n"
            f"left to the image={' '.join(sorted(IMAGE_HAS))}\n")
        total = sum(p.stat().st_size for p in tmp.glob("*.whl"))
        if total > MAX_BYTES:
            raise SystemExit(f"{dest}: the wheels weigh {total / 2**20:.0f} MiB, over the {MAX_BYTES / 2**20:.0f} "
                             "MiB a device run can carry beside the repository")
        old = dest.with_name(dest.name + ".old")
        if dest.exists():
            dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(dest.glob("*.whl"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=REPO / "wheelhouse")
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python, X.Y (3.12)")
    parser.add_argument("--resolver-python", help="the Python whose pip resolves (default: pythonX.Y if found)")
    args = parser.parse_args(argv)
    python = resolver_python(args.python_version, args.resolver_python)
    try:
        wheels = download(args.dest.resolve(), args.python_version, python)
    except subprocess.CalledProcessError as err:
        print(f"gpu-wheels: `{' '.join(err.cmd[1:4])} ...` failed (pip's error above); {args.dest}/ is unchanged",
              file=sys.stderr)
        return 1
    total = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {total / 2**20:.1f} MiB, in {args.dest}/ for CPython {args.python_version} "
          f"manylinux x86_64:")
    for wheel in wheels:
        print(f"  {wheel.name}")
    print("Carry this folder to the GPU machine with the repository, then run `make gpu-check` there.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
