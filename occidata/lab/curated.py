"""The curated notebooks in every researcher's home, as their own copies, kept by nbgitpuller.

The platform publishes the curated set (``notebooks/`` of the repository, without the tests'
parameter files, with a generated bilingual README) as commits of a local git repository,
``<state>/lab/curated.git``, at each start (:func:`publish_curated`). A lab copies it into the
researcher's home at its first start (:func:`first_copy`); later updates are offered, not
forced: the lab's launcher links to nbgitpuller's ``git-pull`` page (:func:`update_url`), whose
merge keeps the researcher's edits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from ..atomic import write_atomic
from ..levels import required_level

BRANCH = "main"
FOLDER = "notebooks-occidata"
README = "README.md"
_GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Occidata", "GIT_AUTHOR_EMAIL": "occidata@localhost",
                 "GIT_COMMITTER_NAME": "Occidata", "GIT_COMMITTER_EMAIL": "occidata@localhost"}
_LEVEL_FR = {"public": "aucun (données publiques)", "partner": "partenaire", "restricted": "restreint"}
_LEVEL_EN = {"public": "none (public data)", "partner": "partner", "restricted": "restricted"}


def curated_repository(state_dir: str | os.PathLike) -> Path:
    """Where the platform publishes the curated set: one home for this path."""
    return Path(state_dir) / "lab" / "curated.git"


def git_environment(repository: str | os.PathLike) -> dict:
    """Variables that let any account clone the platform's repository, which root owns: git
    refuses a repository of another owner unless its system or global configuration marks it
    safe (the command line's is ignored by git 2.39). The platform's system configuration
    (:func:`_write_git_config`) marks it and includes the machine's; ``~/.gitconfig`` stays
    the researcher's."""
    return {"GIT_CONFIG_SYSTEM": str(Path(repository).parent / "gitconfig")}


def _write_git_config(repository: Path) -> None:
    write_atomic(repository.parent / "gitconfig",
                 f"# Written by occidata (occidata.lab.curated): the labs' git system configuration.\n"
                 f"[include]\n\tpath = /etc/gitconfig\n[safe]\n\tdirectory = {repository}\n", mode=0o644)


def _notebook_summary(path: Path) -> dict:
    """Title, description, datasets read and kernel of one curated notebook."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = ["".join(cell.get("source", "")) for cell in notebook.get("cells", [])]
    first = cells[0] if cells else ""
    lines = [line.strip() for line in first.splitlines()]
    title = lines[0].lstrip("# ").strip() if lines else path.stem
    paragraphs = [p.strip().replace("\n", " ") for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
    datasets = []
    for source in cells:
        for name in re.findall(r"catalog\.load\(\s*[\"']([\w-]+)[\"']", source):
            if name not in datasets:
                datasets.append(name)
    # The notebooks open with a French paragraph then an English one, or both in one, split by " / ".
    about_fr, _, about_en = (paragraphs[0] if paragraphs else "").partition(" / ")
    if not about_en and len(paragraphs) > 1:
        about_en = paragraphs[1]
    return {"title": title, "about_fr": about_fr, "about_en": about_en or about_fr, "datasets": datasets}


def _levels(datasets: list[str], entries: dict) -> list[str]:
    levels = []
    for name in datasets:
        access = entries.get(name, {}).get("access", "public")
        level = required_level(name, access)
        if level not in levels:
            levels.append(level)
    return levels


def render_readme(notebooks: dict[str, dict], entries: dict) -> str:
    """The README of the curated set, French then English: what each notebook does, which data it
    reads and which access level it needs (``entries``: catalogue metadata by entry name)."""
    fr = ["# Notebooks de la plateforme Occitanie Data", "",
          "Vos copies des notebooks curés : modifiez-les librement. Une mise à jour de la plateforme "
          "vous est proposée (lanceur, « Mettre à jour les notebooks ») sans jamais écraser vos "
          "modifications.", "",
          "| Notebook | Ce qu'il fait | Données lues | Niveau d'accès nécessaire |", "|---|---|---|---|"]
    en = ["## English", "",
          "Your own copies of the curated notebooks: edit them freely. Platform updates are offered "
          "(launcher, « Mettre à jour les notebooks ») and never overwrite your edits.", "",
          "| Notebook | What it does | Data read | Access level needed |", "|---|---|---|---|"]
    for relative, summary in sorted(notebooks.items()):
        title_fr, _, title_en = summary["title"].partition(" / ")
        about_fr, about_en = summary["about_fr"], summary["about_en"]
        data = ", ".join(f"`{name}`" for name in summary["datasets"]) or "—"
        levels = _levels(summary["datasets"], entries)
        fr.append(f"| [{title_fr}]({relative}) | {about_fr} | {data} | "
                  f"{', '.join(_LEVEL_FR.get(level, level) for level in levels) or _LEVEL_FR['public']} |")
        en.append(f"| [{title_en or title_fr}]({relative}) | {about_en} | {data} | "
                  f"{', '.join(_LEVEL_EN.get(level, level) for level in levels) or _LEVEL_EN['public']} |")
    return "\n".join([*fr, "", *en, ""])


def curated_files(notebooks_dir: Path) -> list[Path]:
    """The notebooks of the curated set, relative to ``notebooks_dir``; ``params/`` (the tests'
    parameter sets) is not part of it."""
    return sorted(path.relative_to(notebooks_dir) for path in notebooks_dir.glob("*/*.ipynb")
                  if path.relative_to(notebooks_dir).parts[0] != "params")


def _git(repository: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(["git", f"--git-dir={repository}", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **_GIT_IDENTITY, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {repository}: {done.stderr.strip()}")
    return done.stdout.strip()


def publish_curated(notebooks_dir: str | os.PathLike, state_dir: str | os.PathLike, entries: dict) -> str | None:
    """Commit the current curated set to the platform's repository when it changed; return the
    new commit, or None when nothing changed. The branch moves in one step (``update-ref``):
    a lab cloning meanwhile sees the old commit or the new one."""
    notebooks_dir = Path(notebooks_dir)
    repository = curated_repository(state_dir)
    if not (repository / "HEAD").exists():
        repository.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(repository.parent, 0o755)
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(repository)],
                       check=True, capture_output=True)
    _write_git_config(repository)
    with tempfile.TemporaryDirectory(prefix="occidata-curated-") as staging:
        staging = Path(staging)
        files = curated_files(notebooks_dir)
        summaries = {}
        for relative in files:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebooks_dir / relative, staging / relative)
            summaries[relative.as_posix()] = _notebook_summary(notebooks_dir / relative)
        (staging / README).write_text(render_readme(summaries, entries), encoding="utf-8")
        index = {"GIT_INDEX_FILE": str(staging.parent / f".{staging.name}.index"), "GIT_WORK_TREE": str(staging)}
        try:
            _git(repository, "add", "--all", ".", env=index)
            tree = _git(repository, "write-tree", env=index)
        finally:
            Path(index["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    try:
        parent = _git(repository, "rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}")
    except RuntimeError:
        parent = ""
    if parent and _git(repository, "rev-parse", f"{parent}^{{tree}}") == tree:
        return None
    commit = _git(repository, "commit-tree", tree, *(["-p", parent] if parent else []),
                  "-m", "Notebooks curés de la plateforme / Curated notebooks")
    _git(repository, "update-ref", f"refs/heads/{BRANCH}", commit, *([parent] if parent else []))
    # Readable by every account: labs run as the researchers' own accounts.
    for path in [repository, *repository.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return commit


def first_copy(repository: str | os.PathLike, home: str | os.PathLike) -> Path | None:
    """At a lab's first start, the researcher's own copy of the curated set, through nbgitpuller
    (the clone nbgitpuller's later updates merge into); None when the copy exists already or
    the platform published none."""
    from nbgitpuller.pull import GitPuller

    target = Path(home) / FOLDER
    if target.exists() or not (Path(repository) / "HEAD").exists():
        return None
    for _ in GitPuller(str(repository), str(target), branch=BRANCH, depth=0).pull():
        pass
    return target


def update_url(service_prefix: str, repository: str | os.PathLike) -> str:
    """nbgitpuller's page that merges the platform's newer curated set into the copy, keeping
    the researcher's edits, and opens its README."""
    query = urlencode({"repo": str(repository), "branch": BRANCH, "targetpath": FOLDER,
                       "urlpath": f"lab/tree/{FOLDER}/{README}"})
    return f"{service_prefix.rstrip('/')}/git-pull?{query}"


def update_available(repository: str | os.PathLike, home: str | os.PathLike) -> bool:
    """Whether the platform published a curated set newer than the one in the copy."""
    target = Path(home) / FOLDER
    if not (target / ".git").exists() or not (Path(repository) / "HEAD").exists():
        return False
    env = {**os.environ, **git_environment(repository)}
    published = subprocess.run(["git", f"--git-dir={repository}", "rev-parse", f"refs/heads/{BRANCH}"],
                               capture_output=True, text=True, env=env).stdout.strip()
    known = subprocess.run(["git", "-C", str(target), "cat-file", "-e", f"{published}^{{commit}}"],
                           capture_output=True, env=env)
    return bool(published) and known.returncode != 0
