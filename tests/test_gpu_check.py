"""`make gpu-check` (bench/gpu_check.py) where CI runs: no GPU, no wheel folder.

The check itself only runs whole on a GPU machine; here its dry run goes through the same
pipeline (GPU tests, analyses, report) on Numba, its offline install is run for real against
a wheel made in the test, and its refusal without a GPU is checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CHECK = REPO / "bench" / "gpu_check.py"
if str(REPO / "bench") not in sys.path:
    sys.path.append(str(REPO / "bench"))   # appended: bench/ has modules named like tests' packages

from _gpu_env import (  # noqa: E402
    CHECK_NEEDS, EnvError, check_requirements, create_venv, install, installed_now, requirement_name,
)
from _gpu_measure import compare  # noqa: E402
from _gpu_report import analyses_verdict, pin_lines  # noqa: E402
from gpu_check import junit_counts  # noqa: E402


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_after(lines: list[str], heading: str) -> list[list[str]]:
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append(_cells(line))
        elif rows:
            break
    return rows


def test_dry_run_prints_the_report_and_writes_it(tmp_path):
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, str(CHECK), "--dry-run", "--areas", "air", "--work", str(work)],
                          cwd=REPO, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()

    tests_line = lines[lines.index("### GPU tests") + 2]
    assert re.fullmatch(r"`pytest -m gpu tests/compute`: \d+ passed, 0 failed, \d+ skipped, 0 errors \(.* s\)",
                        tests_line)

    table = _table_after(lines, "### Numba only (dry run), demo size")
    header, rule, rows = table[0], table[1], table[2:]
    assert header == ["area", "analysis", "GPU path", "Numba cold s", "Numba s", "GPU cold s", "GPU s",
                      "Numba/GPU", "GB/s", "max scaled diff", "result", "wall s"]
    assert len(rule) == len(header)
    assert [r[1] for r in rows] == ["rolling_mean", "rolling_percentile", "daily_mean", "mda8"]
    for row in rows:
        assert len(row) == len(header) and row[0] == "air"
        assert float(row[3]) >= 0 and float(row[4]) > 0   # Numba timed, cold and best
        assert row[6] == "-"                               # no GPU time in a dry run

    stages = {r[0]: r for r in _table_after(lines, "### Time")[2:]}
    assert list(stages) == ["preflight", "install", "GPU tests", "environment", "analyses", "total"]
    assert all(r[2].startswith("ok") for name, r in stages.items() if name != "total")
    assert lines[-2] == "gpu-check: ok"
    assert (work / "report.md").read_text().splitlines() == lines[:-1]


def test_without_a_gpu_it_says_so_and_stops(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(CHECK), "--work", str(tmp_path / "work"),
                           "--wheels", str(tmp_path / "none")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("no GPU: ")
    assert "make gpu-check-dry" in done.stderr
    assert not (tmp_path / "work" / "venv").exists()      # it stopped before installing anything


def _wheel(folder: Path, name: str, version: str, code: str) -> Path:
    """A real (pure Python) wheel, as pip download would leave it."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    files = {
        f"{name}.py": code,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, text in files.items():
            zf.writestr(arcname, text)
    return path


def test_offline_install_into_a_venv_that_sees_this_interpreters_packages(tmp_path):
    wheels = tmp_path / "wheels"
    _wheel(wheels, "occidata_probe", "1.0", "VALUE = 42\n")
    python = create_venv(tmp_path / "venv")
    out = install(python, ["occidata-probe==1.0"], wheels)
    assert "occidata_probe-1.0" in installed_now(out) or "occidata-probe-1.0" in installed_now(out)
    seen = subprocess.run(
        [str(python), "-c", "import numpy, occidata, occidata_probe, sys; "
         "print(sys.prefix); print(occidata_probe.__file__); print(occidata.__file__); print(occidata_probe.VALUE)"],
        capture_output=True, text=True, check=True).stdout.split()
    prefix, probe, occidata_file, value = seen
    assert Path(prefix) == tmp_path / "venv"
    assert Path(probe).is_relative_to(tmp_path / "venv")          # the wheel went into the venv
    assert Path(occidata_file) == REPO / "occidata" / "__init__.py"   # the repository, not a copy
    assert value == "42"

    # A package neither this interpreter nor the folder has: one line naming the folder.
    with pytest.raises(EnvError, match=r"from .*wheels/ failed: .*make gpu-wheels"):
        install(python, ["occidata-probe-absent==1.0"], wheels)
    # Wheels made for another Python are refused before pip runs.
    (wheels / "TARGET").write_text("python=2.7\n")
    with pytest.raises(EnvError, match=r"wheels for Python 2.7 but this python is 3\.\d+"):
        install(python, ["occidata-probe==1.0"], wheels)


def test_the_check_installs_what_pyproject_pins(tmp_path):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for reqs in project["optional-dependencies"].values() for r in reqs]
    needs = check_requirements()
    assert [requirement_name(r) for r in needs] == list(CHECK_NEEDS)
    assert all(r in declared for r in needs)

    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\ndependencies = ["dask>=2025.1"]\n')
    with pytest.raises(EnvError, match=r"pyproject.toml: pykrige, pytest-timeout not among"):
        check_requirements(bad)


def test_gpu_extras_pick_one_cuda_major_each():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["gpu"] == ["occidata[gpu-cuda12]"]   # what the install hint names: runs on 12 and 13
    for major in ("12", "13"):
        reqs = extras[f"gpu-cuda{major}"]
        assert f"cupy-cuda{major}x[ctk]==14.*" in reqs
        assert f"numba-cuda[cu{major}]==0.30.*" in reqs
    conda = (REPO / "environment.yml").read_text()
    assert re.search(r"^\s+- cupy=14\b", conda, re.M) and re.search(r"^\s+- numba-cuda=0\.30\b", conda, re.M)
    assert re.search(r"^\s+- cuda-version>=12,<14$", conda, re.M)


def test_pins_of_the_installed_gpu_packages():
    lines = pin_lines({"cupy-cuda13x": "14.2.0", "numba-cuda": "0.30.4", "numba": "0.67.1"})
    assert lines == [
        "cupy-cuda13x 14.2.0 (pyproject extra gpu-cuda13: ==14.*) ok",
        "numba-cuda 0.30.4 (pyproject extra gpu-cuda13: ==0.30.*) ok",
        "numba 0.67.1 (pyproject dependencies: ==0.68.*) DIFFERS",
    ]
    assert "clash" in pin_lines({"cupy-cuda12x": "14.2.0", "cupy-cuda13x": "14.2.0"})[0]


def test_compare_counts_nan_places_and_scaled_differences():
    Pair = namedtuple("Pair", "value flag")
    a = Pair(np.array([1.0, np.nan, 4.0]), np.array([1, 0, 1]))
    assert compare(a, Pair(np.array([1.0, np.nan, 4.0]), np.array([1, 0, 1]))) == \
        {"max_scaled_diff": 0.0, "nan_diff": 0, "exact_diff": 0}
    b = Pair(np.array([1.0, 2.0, 4.0 + 4e-6]), np.array([1, 1, 1]))
    got = compare(a, b)
    assert got["nan_diff"] == 1 and got["exact_diff"] == 1
    assert got["max_scaled_diff"] == pytest.approx(1e-6)
    assert "error" in compare(a, Pair(np.zeros(2), np.zeros(2)))


def test_analyses_verdict_fails_on_a_failure_a_skip_or_a_difference():
    good = {"analysis": "idw", "numba_s": 1.0, "gpu_s": 0.01, "agrees": True}
    assert analyses_verdict([good], dry_run=False) == (True, "1 rows")
    assert analyses_verdict([good, dict(good, agrees=False)], dry_run=False) == (False, "2 rows, 1 differ")
    assert analyses_verdict([{"analysis": "x", "skipped": "time"}], dry_run=False)[0] is False
    assert analyses_verdict([{"analysis": "x", "numba_s": 1.0}], dry_run=False) == (False, "1 rows, 1 without a GPU path")
    assert analyses_verdict([{"analysis": "x", "numba_s": 1.0}], dry_run=True) == (True, "1 rows")
    assert analyses_verdict([], dry_run=True)[0] is False


def test_junit_counts(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite tests="4" failures="1" skipped="1" errors="0">'
        '<testcase classname="tests.compute.test_rolling" name="test_cupy_matches_numpy"><failure/></testcase>'
        '<testcase classname="a" name="b"/><testcase classname="a" name="c"><skipped/></testcase>'
        '<testcase classname="a" name="d"/></testsuite></testsuites>')
    counts = junit_counts(xml)
    assert (counts["passed"], counts["failed"], counts["skipped"], counts["errors"]) == (2, 1, 1, 0)
    assert counts["not_passed"] == ["failure: tests.compute.test_rolling::test_cupy_matches_numpy"]
