"""Public dashboards for citizens (Voilà), served at ``/services/dashboards/``.

Each dashboard is a thin notebook in ``voila_apps/`` that calls ``show()`` of one module here
(``air``, ``bathing``, ``heat``, ``traffic``); the page logic lives in the package so that it is
tested. ``service`` runs Voilà as a hub service with a preheated kernel pool, a cap on live
kernels and the static snapshots (rendered through ``occidata.reports``) as the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
APPS_DIR = REPO_ROOT / "voila_apps"


@dataclass(frozen=True)
class Dashboard:
    slug: str  # the notebook's stem in voila_apps/, and the page's address
    title_fr: str
    title_en: str
    summary_fr: str
    summary_en: str

    @property
    def notebook(self) -> str:
        return f"{self.slug}.ipynb"


DASHBOARDS = (
    Dashboard("qualite-air", "Qualité de l'air aujourd'hui", "Air quality today",
              "L'indice ATMO par station et par commune, sur une carte, avec les conseils de santé.",
              "The ATMO index per station and commune on a map, with health advice."),
    Dashboard("baignade", "Eaux de baignade", "Bathing water",
              "Les sites de baignade, leur classement et les derniers prélèvements.",
              "Bathing sites, their class under the Directive and the latest samples."),
    Dashboard("chaleur", "Chaleur", "Heat",
              "Le niveau d'alerte canicule par département, et les seuils expliqués.",
              "The heat alert level by department, with the thresholds explained."),
    Dashboard("trafic-air", "Trafic et air", "Traffic and air",
              "Le trafic des grands axes à côté du dioxyde d'azote mesuré aux stations proches.",
              "Traffic on the main roads beside NO2 at nearby stations."),
)
BY_SLUG = {d.slug: d for d in DASHBOARDS}
