"""The platform one click away in the lab: launcher items (jupyter-app-launcher), an « Occitanie
Data » menu and the server's resources in the top bar (JupyterLab settings defaults), in French."""

from __future__ import annotations

from pathlib import Path

HELP_FILE = Path(__file__).resolve().parent / "aide.md"
SECTION = "Occitanie Data"
LOCALE = "fr_FR"


def service_links(base_url: str, services: list[str]) -> list[dict]:
    """The platform's pages a researcher opens from the lab, in launcher order."""
    base = base_url.rstrip("/") + "/"
    pages = {
        "catalogue": ("Catalogue des données", "Jeux de données, niveaux d'accès et exemples de code"),
        "dashboards": ("Tableaux de bord publics", "Les pages que voient les citoyens"),
        "reports": ("Rapports", "Rapports programmés, archives et exécutions"),
    }
    return [{"service": name, "title": pages[name][0], "description": pages[name][1],
             "url": f"{base}services/{name}/"} for name in pages if name in services]


def launcher_items(links: list[dict], readme: Path | None, update_url: str | None, update_available: bool) -> list[dict]:
    """jupyter-app-launcher's entries: the platform's pages (new tab), the curated notebooks'
    README, their update (offered, never forced) and the help."""
    items = [{"id": f"occidata-{link['service']}", "title": link["title"], "description": link["description"],
              "type": "url", "source": link["url"], "catalog": SECTION, "args": {"createNewWindow": True}}
             for link in links]
    if readme is not None:
        items.append({"id": "occidata-notebooks", "title": "Notebooks curés", "type": "markdown",
                      "description": "Vos copies des analyses de la plateforme : ce que fait chacune",
                      "source": str(readme), "catalog": SECTION})
    if update_url:
        title = "Mettre à jour les notebooks" + (" (nouvelle version)" if update_available else "")
        items.append({"id": "occidata-notebooks-update", "title": title, "type": "url", "source": update_url,
                      "description": "Fusionne la dernière version de la plateforme en gardant vos modifications",
                      "catalog": SECTION, "args": {"createNewWindow": True}})
    items.append({"id": "occidata-help", "title": "Aide de la plateforme", "type": "markdown",
                  "description": "Premiers pas, catalogue, commandes du terminal, droits d'accès",
                  "source": str(HELP_FILE), "catalog": SECTION})
    return items


def lab_settings(links: list[dict], resources_line: str, update_url: str | None) -> dict:
    """JupyterLab settings defaults (``default_setting_overrides``): French, the « Occitanie Data »
    menu, the server's resources in the top bar with the live use of memory and CPU."""
    entries = [{"command": "help:open", "args": {"url": link["url"], "text": link["title"], "newBrowserTab": True},
                "rank": rank} for rank, link in enumerate(links)]
    if update_url:
        entries.append({"command": "help:open", "rank": len(entries),
                        "args": {"url": update_url, "text": "Mettre à jour les notebooks curés", "newBrowserTab": True}})
    return {
        "@jupyterlab/translation-extension:plugin": {"locale": LOCALE},
        "@jupyterlab/mainmenu-extension:plugin": {
            "menus": [{"id": "jp-mainmenu-occidata", "label": SECTION, "rank": 950, "items": entries}]},
        "jupyterlab-topbar-text:plugin": {"text": resources_line, "editable": False},
        "@jupyter-server/resource-usage:topbar-item": {"enable": True},
        # Markdown (the curated notebooks' README, the help) opens rendered, not as source.
        "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Markdown Preview"}},
        # The lab reaches nothing outside the platform: no question about Jupyter's news feed.
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    }
