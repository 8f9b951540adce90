"""health_admissions: weekly hospital admissions for heat- and respiratory-related causes.

Restricted, personal (health) data: counts by commune, week and age band derived from
hospital stays (PMSI). Small counts can point at a person in a small commune, so counts
under ``SMALL_CELL_THRESHOLD`` must never leave the trust unsuppressed; ``small_cells``
marks them for the suppression gate.

- ``SCHEMA``: one row per Monday-starting week, commune, age band and cause.
- ``generate``: deterministic synthetic counts (no real feed exists in the lab): winter
  respiratory epidemics, summer heat waves hitting the oldest, counts proportional to
  each commune's population, so small communes are mostly small cells.
- ``small_cells``: the rows a publication would have to suppress.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy.disclosure import K as SMALL_CELL_THRESHOLD  # k has one home
from .schema import Column, TableSchema

NAME = "health_admissions"
KIND = "table"

AGE_BANDS = ("0-14", "15-64", "65-74", "75+")
CAUSES = ("heat", "respiratory")

SCHEMA = TableSchema(
    name=NAME,
    description="Weekly hospital admissions for heat- and respiratory-related causes, by commune and age band",
    columns=(
        Column("week_start", "datetime", "Monday of the week (UTC midnight)"),
        Column("commune", "string", "commune of residence"),
        Column("insee_code", "string", "INSEE code of the commune"),
        Column("department", "string", "department name"),
        Column("age_band", "string", "age at admission", allowed=AGE_BANDS),
        Column("cause", "string", "group of main diagnoses", allowed=CAUSES),
        Column("admissions", "int64", "admissions in the week", "admissions", minimum=0),
    ),
)

METADATA = {
    "title_fr": "Hospitalisations hebdomadaires liées à la chaleur et aux causes respiratoires",
    "title_en": "Weekly hospital admissions for heat- and respiratory-related causes",
    "description": (
        "Weekly counts of hospital admissions by commune of residence, age band and cause (heat-related or "
        "respiratory), derived from hospital stays. Small counts identify people in small communes: they are "
        "restricted and must be suppressed before anything leaves the trust."
    ),
    "producer": "Synthetic (occidata), shaped like PMSI hospital-stay extracts (ATIH) aggregated by ARS Occitanie",
    "licence": "restricted",
    "access": "restricted",
    "personal_data": True,
    "legal_basis": "GDPR art. 9(2)(i) public interest in public health; derived from hospital stays (PMSI)",
    "small_cell_threshold": SMALL_CELL_THRESHOLD,
    "suppression": "counts under 11 must never leave the trust unsuppressed (gate built in a later issue)",
    "update_frequency": "weekly",
    "spatial_coverage": "Occitanie, communes of residence",
    "temporal_coverage": "weeks from Monday to Sunday",
    "tags": ["health", "hospital", "heat", "respiratory", "restricted", "personal data"],
}

DEPARTMENTS = {"09": "Ariège", "11": "Aude", "12": "Aveyron", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
               "34": "Hérault", "46": "Lot", "48": "Lozère", "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales",
               "81": "Tarn", "82": "Tarn-et-Garonne"}

# Communes with their population (INSEE legal populations, rounded).
COMMUNES = pd.DataFrame(
    [
        ("Toulouse", "31555", 504000), ("Montpellier", "34172", 302000), ("Nîmes", "30189", 148000),
        ("Perpignan", "66136", 120000), ("Béziers", "34032", 79000), ("Montauban", "82121", 61000),
        ("Narbonne", "11262", 57000), ("Albi", "81004", 49000), ("Carcassonne", "11069", 46000),
        ("Sète", "34301", 44500), ("Alès", "30007", 42000), ("Tarbes", "65440", 41500), ("Castres", "81065", 41000),
        ("Colomiers", "31149", 39000), ("Agde", "34003", 29500), ("Lunel", "34145", 26000), ("Rodez", "12202", 25000),
        ("Auch", "32013", 22000), ("Millau", "12145", 21800), ("Cahors", "46042", 19400), ("Lourdes", "65286", 13000),
        ("Canet-en-Roussillon", "66037", 12500), ("Mende", "48095", 11800), ("Argelès-sur-Mer", "66008", 10500),
        ("Figeac", "46102", 9800), ("Foix", "09122", 9600), ("Le Grau-du-Roi", "30133", 8500),
        ("Palavas-les-Flots", "34192", 6000), ("Gruissan", "11170", 5100), ("Marvejols", "48092", 4800),
        ("Leucate", "11202", 4500), ("Lectoure", "32208", 3600), ("Collioure", "66053", 2500),
        ("Bagnères-de-Luchon", "31042", 2300), ("Florac Trois Rivières", "48061", 2000),
        ("Conques-en-Rouergue", "12076", 1600), ("Ax-les-Thermes", "09032", 1200), ("Cordes-sur-Ciel", "81069", 900),
        ("Saint-Guilhem-le-Désert", "34261", 240), ("Saint-Cirq-Lapopie", "46256", 220),
    ],
    columns=["commune", "insee_code", "population"],
)
COMMUNES["department"] = COMMUNES["insee_code"].str[:2].map(DEPARTMENTS)

# Age structure: towns are younger than small coastal and rural communes.
_AGE_SHARE_TOWN = np.array([0.15, 0.66, 0.10, 0.09])
_AGE_SHARE_SMALL = np.array([0.13, 0.55, 0.16, 0.16])
# Admissions per 100,000 residents per week, by age band, outside epidemics and heat waves.
_RESPIRATORY_RATE = np.array([35.0, 10.0, 45.0, 160.0])
_HEAT_RATE = np.array([0.3, 0.3, 1.2, 5.0])  # in summer; near zero the rest of the year
# Extra heat admissions per unit of heat-wave intensity: the oldest suffer most.
_HEAT_SENSITIVITY = np.array([1.0, 1.0, 3.0, 8.0])

# Each size covers the weeks starting in its last ``years`` calendar years, ending with the
# ``year`` given to ``generate`` (2024 unless told).
SIZES = {
    "tiny": {"communes": ("Toulouse", "Montpellier", "Narbonne", "Mende", "Gruissan", "Saint-Cirq-Lapopie"), "years": 1},
    "demo": {"communes": None, "years": 3},
    "full": {"communes": None, "years": 11},
}


def generate(size: str = "tiny", seed: int = 0, year: int = 2024) -> pd.DataFrame:
    """Deterministic synthetic weekly admissions, shaped like PMSI extracts by commune.

    Respiratory admissions follow a winter cycle with an epidemic each winter (bronchiolitis
    in children a few weeks before influenza in adults); heat admissions appear in summer
    and jump during heat waves, mostly among the 75+. Counts are Poisson around each age
    band's population times its rate, so Toulouse and Montpellier count dozens a week while
    small communes are mostly zeros and small cells. Every week, commune, age band and
    cause has a row, zeros included.

    Parameters
    ----------
    size
        ``"tiny"``, ``"demo"`` or ``"full"`` (see ``SIZES``).
    seed
        Same seed, same data.
    year
        The last calendar year; weeks starting in it and the years before are generated.

    Returns
    -------
    pandas.DataFrame
        Rows in ``SCHEMA`` order and dtypes, by week, then commune (largest first), age band and cause.

    Raises
    ------
    ValueError
        For an unknown ``size``.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} for {NAME}; allowed: {', '.join(SIZES)}")
    plan = SIZES[size]
    return _simulate(plan["communes"], year - plan["years"] + 1, year, seed)


def small_cells(frame: pd.DataFrame, threshold: int = SMALL_CELL_THRESHOLD) -> pd.Series:
    """Mark the rows whose count is a small cell: ``0 < admissions < threshold``.

    Zero is not a small cell (it names nobody); a missing count is not one either.

    Parameters
    ----------
    frame
        A table with an ``admissions`` column.
    threshold
        The smallest count that may be shown (11 for hospital data).

    Returns
    -------
    pandas.Series
        Boolean, aligned on ``frame``'s index.

    Raises
    ------
    KeyError
        When ``frame`` has no ``admissions`` column.
    ValueError
        When ``threshold`` is below 1.
    """
    if threshold < 1:
        raise ValueError(f"a small-cell threshold must be at least 1, not {threshold!r}")
    if "admissions" not in frame.columns:
        raise KeyError("small_cells needs an 'admissions' column")
    counts = pd.to_numeric(frame["admissions"])
    return ((counts > 0) & (counts < threshold)).fillna(False).astype(bool).rename("small_cell")


def _communes(names: tuple[str, ...] | None) -> pd.DataFrame:
    if names is None:
        return COMMUNES
    unknown = set(names) - set(COMMUNES["commune"])
    if unknown:
        raise ValueError(f"no population known for {', '.join(sorted(unknown))}")
    return COMMUNES[COMMUNES["commune"].isin(names)]


def _winter_epidemics(rng: np.random.Generator, weeks: pd.DatetimeIndex, peak_week: float, width: float,
                      height: tuple[float, float]) -> np.ndarray:
    """Sum of one Gaussian epidemic per winter, peaking near ``peak_week`` of the year (may be < 1)."""
    years = range(weeks.year.min() - 1, weeks.year.max() + 1)
    curve = np.zeros(len(weeks))
    for year in years:
        # Peak timing and height change from one winter to the next.
        centre = pd.Timestamp(year, 1, 1, tz="UTC") + pd.Timedelta(weeks=peak_week + rng.normal(0, 1.5))
        lag = (weeks - centre).days.to_numpy() / 7.0
        curve += rng.uniform(*height) * np.exp(-(lag**2) / (2 * width**2))
    return curve


def _heat_waves(rng: np.random.Generator, weeks: pd.DatetimeIndex) -> np.ndarray:
    """Heat-wave intensity per week: one or two waves each summer, one or two weeks each."""
    intensity = np.zeros(len(weeks))
    for year in range(weeks.year.min(), weeks.year.max() + 1):
        for _ in range(rng.integers(1, 3)):
            start = pd.Timestamp(year, 6, 20, tz="UTC") + pd.Timedelta(days=int(rng.integers(0, 55)))
            length = pd.Timedelta(weeks=int(rng.integers(1, 3)))
            inside = (weeks + pd.Timedelta(days=6) >= start) & (weeks < start + length)
            intensity[inside] = np.maximum(intensity[inside], rng.uniform(1.5, 3.0))
    return intensity


def _simulate(communes: tuple[str, ...] | None, first_year: int, last_year: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    places = _communes(communes).reset_index(drop=True)
    week_start = pd.date_range(pd.Timestamp(first_year, 1, 1, tz="UTC"), pd.Timestamp(last_year, 12, 31, tz="UTC"),
                               freq="W-MON")
    weeks = len(week_start)
    day_of_year = week_start.day_of_year.to_numpy() + 3  # mid-week
    winter = np.cos(2 * np.pi * (day_of_year - 20) / 365.25)  # +1 late January, -1 late July
    summer = np.clip(-winter, 0, None) ** 2
    influenza = _winter_epidemics(rng, week_start, peak_week=5, width=2.5, height=(0.8, 2.0))
    bronchiolitis = _winter_epidemics(rng, week_start, peak_week=-5, width=3.0, height=(1.5, 3.0))
    heat_wave = _heat_waves(rng, week_start)

    # Expected admissions per 100,000, shape (weeks, age bands), for each cause.
    respiratory = _RESPIRATORY_RATE[None, :] * (1 + 0.3 * winter[:, None])
    respiratory = respiratory * (1 + np.column_stack([bronchiolitis, 0.6 * influenza, influenza, influenza]))
    heat = _HEAT_RATE[None, :] * (0.05 + summer[:, None]) * (1 + _HEAT_SENSITIVITY[None, :] * heat_wave[:, None])

    small = (places["population"] < 30000).to_numpy()
    shares = np.where(small[:, None], _AGE_SHARE_SMALL[None, :], _AGE_SHARE_TOWN[None, :])
    residents = places["population"].to_numpy()[:, None] * shares  # (communes, age bands)
    # Coastal breezes and air conditioning differ: each commune reacts a little differently.
    heat_reaction = rng.lognormal(0.0, 0.2, len(places))
    expected = np.stack([
        heat[:, None, :] * heat_reaction[None, :, None],
        np.broadcast_to(respiratory[:, None, :], (weeks, len(places), len(AGE_BANDS))),
    ], axis=-1) * residents[None, :, :, None] / 1e5  # (weeks, communes, age bands, causes)
    # Week-to-week extra variation (clusters, reporting) on top of Poisson noise.
    expected = expected * rng.gamma(20.0, 1 / 20.0, expected.shape)
    counts = rng.poisson(expected)

    index = pd.MultiIndex.from_product(
        [range(weeks), range(len(places)), range(len(AGE_BANDS)), range(len(CAUSES))],
        names=["week", "place", "age", "cause"],
    ).to_frame(index=False)
    place = places.iloc[index["place"].to_numpy()].reset_index(drop=True)
    frame = pd.DataFrame({
        "week_start": week_start[index["week"].to_numpy()],
        "commune": place["commune"].astype("string"),
        "insee_code": place["insee_code"].astype("string"),
        "department": place["department"].astype("string"),
        "age_band": pd.array(np.array(AGE_BANDS)[index["age"].to_numpy()], dtype="string"),
        "cause": pd.array(np.array(CAUSES)[index["cause"].to_numpy()], dtype="string"),
        "admissions": pd.array(counts.reshape(-1), dtype="Int64"),
    })
    return frame[SCHEMA.names]
