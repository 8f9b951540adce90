"""The report of bench/gpu_check.py: Markdown that pastes into a note, from the stages' results."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from _gpu_env import REPO, canonical, requirement_name


@dataclass
class Stage:
    """One step of the check: its name, seconds, whether it went well and a short word on it."""

    name: str
    seconds: float = 0.0
    ok: bool = True
    summary: str = ""
    counts_against: bool = True     # a failed stage makes the check fail


@dataclass
class Results:
    title: str
    stages: list[Stage] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    installed: list[str] | None = None
    tests: dict | None = None
    rows: list[dict] = field(default_factory=list)
    builds: list[dict] = field(default_factory=list)
    nominal: dict | None = None
    bandwidth: list[dict] = field(default_factory=list)
    size: str = "full"
    dry_run: bool = False


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _specifier(requirement: str) -> str:
    return re.sub(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*", "", requirement.split(";")[0]).strip()


def pin_lines(versions: dict, pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """Installed CuPy, numba-cuda and Numba against what pyproject.toml asks of them."""
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    cupys = [d for d in ("cupy-cuda12x", "cupy-cuda13x") if versions.get(d)]
    if len(cupys) > 1:
        return ["two CuPy packages are installed (cupy-cuda12x and cupy-cuda13x): they clash, keep one"]
    extra = {"cupy-cuda12x": "gpu-cuda12", "cupy-cuda13x": "gpu-cuda13"}.get(cupys[0]) if cupys else None
    wanted = {requirement_name(r): (r, "dependencies") for r in project.get("dependencies", [])}
    for r in extras.get(extra, []) if extra else []:
        wanted[requirement_name(r)] = (r, f"extra {extra}")
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # the report still lists the versions
        SpecifierSet = None
    lines = []
    for dist in cupys + ["numba-cuda", "numba"]:
        have = versions.get(dist)
        req = wanted.get(canonical(dist))
        if not req:
            lines.append(f"{dist} {have or 'not installed'}")
            continue
        spec = _specifier(req[0])
        verdict = ""
        if have and SpecifierSet is not None and spec:
            verdict = " ok" if SpecifierSet(spec).contains(have, prereleases=True) else " DIFFERS"
        lines.append(f"{dist} {have or 'not installed'} (pyproject {req[1]}: {spec or 'any'}){verdict}")
    return lines


def _analysis_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        ratio = r["numba_s"] / r["gpu_s"] if r.get("gpu_s") and r.get("numba_s") else None
        gbs = r["bytes_read"] / r["gpu_s"] / 1e9 if r.get("gpu_s") and r.get("bytes_read") else None
        if r.get("skipped"):
            verdict = f"not run: {r['skipped']}"
        elif r.get("failed"):
            verdict = f"FAILED: {r['failed']}"
        elif "agrees" in r:
            verdict = "agrees" if r["agrees"] else "DIFFERS"
            if r.get("error"):
                verdict += f" ({r['error']})"
            elif r.get("nan_diff") or r.get("exact_diff"):
                verdict += f" ({r['nan_diff']} NaN places, {r['exact_diff']} exact values)"
        else:
            verdict = "-"
        diff = r.get("max_scaled_diff")
        out.append([r.get("area", "-"), r["analysis"], r.get("gpu_path", "-"), _num(r.get("numba_cold_s"), ".2f"),
                    _num(r.get("numba_s"), ".4f"), _num(r.get("gpu_cold_s"), ".2f"), _num(r.get("gpu_s"), ".5f"),
                    _num(ratio, ".1f"), _num(gbs, ".0f"), "-" if diff is None else f"{diff:.1e}", verdict,
                    _num(r.get("wall_s"), ".1f")])
    return out


def analyses_verdict(rows: list[dict], dry_run: bool) -> tuple[bool, str]:
    """Whether the analyses went well: none failed, none skipped, every GPU result agrees."""
    failed = sum(1 for r in rows if r.get("failed"))
    skipped = sum(1 for r in rows if r.get("skipped"))
    differs = sum(1 for r in rows if r.get("agrees") is False)
    no_gpu = 0 if dry_run else sum(1 for r in rows if not r.get("failed") and not r.get("skipped")
                                   and "gpu_s" not in r)
    words = [f"{len(rows)} rows"] + [f"{n} {w}" for n, w in ((failed, "failed"), (skipped, "not run"),
                                                             (differs, "differ"), (no_gpu, "without a GPU path"))
                                     if n]
    return (failed + skipped + differs + no_gpu == 0 and bool(rows)), ", ".join(words)


def render(res: Results) -> str:
    """The whole report as Markdown."""
    lines = [f"## {res.title}", ""]
    env = res.env
    facts = []
    if env.get("device"):
        facts.append(["device", f"{env['device']}, compute capability {env.get('compute_capability')}, "
                      f"{env.get('memory_gib', 0):.1f} GiB, {env.get('multiprocessors')} SMs"])
        facts.append(["driver", f"{env.get('driver', '?')} (driver API CUDA {env.get('cuda_driver_api')}), "
                      f"CuPy's CUDA runtime {env.get('cuda_runtime')}"])
    elif env:
        facts.append(["device", "none (dry run: Numba only)" if res.dry_run else "none"])
    if env:
        facts.append(["python", f"{env.get('python')} ({env.get('executable')}), {env.get('cpus')} CPU cores"])
        versions = env.get("versions", {})
        facts.append(["versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v) or "-"])
        facts += [["pins", line] for line in pin_lines(versions)]
    if res.installed is not None:
        facts.append(["installed offline", " ".join(res.installed) or "nothing: the image had it all"])
    if facts:
        lines += _table(["", ""], facts) + [""]

    lines += ["### GPU tests", ""]
    t = res.tests
    if t is None:
        lines.append("not run")
    else:
        lines.append(f"`{t['command']}`: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped, "
                     f"{t['errors']} errors ({t['seconds']:.1f} s)")
        for name in t.get("not_passed", [])[:20]:
            lines.append(f"- {name}")
    lines.append("")

    what = "Numba only (dry run)" if res.dry_run else "CuPy against Numba"
    lines += [f"### {what}, {res.size} size", ""]
    header = ["area", "analysis", "GPU path", "Numba cold s", "Numba s", "GPU cold s", "GPU s", "Numba/GPU",
              "GB/s", "max scaled diff", "result", "wall s"]
    lines += _table(header, _analysis_rows(res.rows))
    lines.append("")
    lines.append("Cold: the first call (Numba's compilation, CuPy's kernel compilation); then the best of a "
                 "few calls. GB/s: bytes the analysis must read over the GPU time. Max scaled diff: the "
                 "largest |Numba - GPU| over the largest |Numba| of each output. The numba.cuda row takes "
                 "NumPy in and gives NumPy out: its GPU time includes the copies to and from the host.")
    for r in res.rows:
        if r["analysis"] == "idw" and r.get("gpu_path") == "cupy" and r.get("gpu_s") and res.size == "full":
            ratio = r["numba_s"] / r["gpu_s"]
            lines.append(f"IDW at full size: CuPy {ratio:.1f}x Numba (aim of issue 4: at least 30x, "
                         f"{'reached' if ratio >= 30 else 'NOT reached'}).")
    seen = set()
    for r in res.rows:
        key = (r["analysis"], r.get("shape"))
        if r.get("shape") and key not in seen:
            seen.add(key)
            lines.append(f"- {r['analysis']}: {r['shape']}")
    lines.append("")

    lines += ["### Memory bandwidth", ""]
    if not res.bandwidth:
        lines.append("not measured" + (" (dry run: no GPU)" if res.dry_run else ""))
    else:
        nom = res.nominal or {}
        nominal, sheet = nom.get("nominal_gb_s"), nom.get("spec_sheet_gb_s")
        rows = []
        for b in res.bandwidth:
            if b.get("failed"):
                rows.append([b["test"], "-", "-", f"FAILED: {b['failed']}", "-"])
                continue
            rows.append([b["test"], f"{b['array_gb']:.2f} GB x {b['bytes_moved'] / b['array_gb'] / 1e9:.0f}",
                         f"{b['best_gb_s']:.0f} (median {b['median_gb_s']:.0f})",
                         f"{100 * b['best_gb_s'] / nominal:.0f} %" if nominal else "-",
                         f"{100 * b['best_gb_s'] / sheet:.0f} %" if sheet else "-"])
        lines += _table(["test", "bytes moved", "GB/s", f"of nominal {_num(nominal, '.0f')} GB/s",
                         f"of data sheet {_num(sheet, '.0f')} GB/s"], rows)
        lines.append("")
        lines.append(f"Nominal: {nom.get('nominal_source') or 'unknown'}. Bytes read and written counted; "
                     "best of the repeats, timed with CUDA events.")
    lines.append("")

    lines += ["### Time", ""]
    total = sum(s.seconds for s in res.stages)
    lines += _table(["stage", "s", "result"],
                    [[s.name, f"{s.seconds:.1f}", ("ok" if s.ok else "FAILED") + (f": {s.summary}" if s.summary else "")]
                     for s in res.stages] + [["total", f"{total:.1f}", ""]])
    lines.append("")
    failed = [s.name for s in res.stages if not s.ok and s.counts_against]
    lines.append("gpu-check: " + ("ok" if not failed else "FAILED (" + ", ".join(failed) + ")"))
    return "\n".join(lines) + "\n"


def passed(res: Results) -> bool:
    return all(s.ok or not s.counts_against for s in res.stages)
