"""Curated notebooks on the real series (issue 18): heat waves per département, bicycle counts, HWMId.

Each runs under papermill on the real occidata-cpu kernel against the tiny data, whose real
entries hold the providers' whole files (Météo-France's départemental temperatures 2018-2020,
Eco-Counter's Montpellier bicycle counts 2020-2024, ECA&D's Montpellier-Aéroport series
1946-2021): on its defaults, on another period, and with a bad parameter, which must stop the
run with one French line naming it, not a Python traceback. Results are checked against the same
analyses computed here from the catalogue.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
import yaml

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
HEAT = "climate/heatwave_watch"
BIKES = "traffic/mobility_patterns"
HWMID = "climate/hwmid_montpellier"
# A Python traceback in an error output: what a researcher must not be shown for a bad parameter.
STACK_MARKS = ("Traceback", "File \"", "----> ", "Cell In[")


@pytest.fixture
def env(tiny_data_dir, tmp_path, monkeypatch):
    """The environment the kernel inherits: the tiny data, a fresh state dir, the summary path."""
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OCCIDATA_REPORT_SUMMARY", str(tmp_path / "summary.json"))
    monkeypatch.delenv("OCCIDATA_ACCESS_LEVELS", raising=False)
    return tmp_path


def execute(relative: str, tmp_path: Path, **parameters) -> dict:
    """Run notebooks/<relative>.ipynb with ``parameters`` (none: its defaults); the summary document."""
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{relative}.ipynb"), str(tmp_path / "executed.ipynb"), parameters=parameters,
        kernel_name="occidata-cpu", cwd=str(tmp_path), progress_bar=False,
    )
    return json.loads((tmp_path / "summary.json").read_text())


def outputs(tmp_path: Path) -> list[dict]:
    nb = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def refused(relative: str, tmp_path: Path, **parameters) -> str:
    """Run with a bad parameter: the run fails with the French message alone; that message."""
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute(relative, tmp_path, **parameters)
    assert failure.value.ename == "NotebookParameterError"
    errors = [o for o in outputs(tmp_path) if o["output_type"] == "error"]
    assert len(errors) == 1
    shown = "\n".join(errors[0]["traceback"])
    assert shown == f"⚠ Paramètre incorrect — {failure.value.evalue}"
    assert not any(mark in shown for mark in STACK_MARKS)
    assert not (tmp_path / "summary.json").exists()
    return failure.value.evalue


def origin_of(results: dict, name: str) -> str:
    return next(line["origin"] for line in results["credits"] if line["name"] == name)


@pytest.mark.parametrize("relative", [HEAT, BIKES, HWMID])
def test_notebook_is_committed_clean_with_its_parameters(relative):
    nb = nbformat.read(NOTEBOOKS / f"{relative}.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "occidata-cpu"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "record_summary(" in code[-1].source and "credits(" in code[-2].source
    params = yaml.safe_load((NOTEBOOKS / "params" / f"{Path(relative).name}.yaml").read_text())
    for key in params:
        assert f"\n{key} = " in "\n" + code[0].source
    # French first: the title and the first paragraph open in French.
    assert nb.cells[0].source.splitlines()[0].startswith(("# Veille", "# Profils", "# HWMId à"))


# --------------------------------------------------------------------------- heat waves per département


def department_alerts(start: str, end: str) -> tuple[list[str], pd.DatetimeIndex, np.ndarray, pd.DataFrame]:
    """Météo-France's criterion on the catalogue's départemental series, computed here: the codes,
    the days watched, the alert days (days x codes) and TX; the two days before ``start`` are the
    first windows' own."""
    from occidata import catalog, compute

    t = catalog.load("temperature_departments_daily")
    t = t[t["occitanie"].fillna(False).astype(bool)].assign(day=lambda f: f["date"].dt.tz_convert(None))
    days = pd.date_range(pd.Timestamp(start) - pd.Timedelta(days=2), end, freq="D")
    tn = t.pivot(index="day", columns="department_code", values="tmin").reindex(days)
    tx = t.pivot(index="day", columns="department_code", values="tmax").reindex(days)
    thresholds = compute.heatwave_thresholds()
    codes = sorted(thresholds)
    r = compute.heatwave_alerts(tn[codes].to_numpy(float), tx[codes].to_numpy(float),
                                np.array([thresholds[c]["tmin"] for c in codes]),
                                np.array([thresholds[c]["tmax"] for c in codes]), backend="numpy")
    return codes, days[2:], np.asarray(r.alert)[2:], tx[codes]


def test_heatwave_watch_finds_the_real_june_2019_heat_wave_in_herault(env):
    results = execute(HEAT, env)["results"]

    assert results["source"] == "departements" and results["origin"] == "real"
    assert origin_of(results, "temperature_departments_daily") == "real"
    assert results["period"] == {"start": "2019-06-01", "end": "2019-08-31", "days": 92}
    assert results["report_period"] is None and results["hwmid"] is None
    # The episode of late June 2019 in Hérault: alert days 29-30 June (3-day means of 27-29 and 28-30
    # June), its windows from 27 June, TX 41.17 °C on 28 June, the highest of the summer there.
    herault = [e for e in results["episodes"] if e["code"] == "34"]
    assert herault == [{"code": "34", "name": "Hérault", "first_alert_day": "2019-06-29",
                        "last_alert_day": "2019-06-30", "alert_days": 2, "covers_from": "2019-06-27",
                        "tx_max": 41.17, "tx_max_day": "2019-06-28", "max_ibmn": 22.8, "max_ibmx": 36.6}]
    row = next(r for r in results["departments"] if r["code"] == "34")
    assert (row["tx_max"], row["tx_max_day"], row["alert_days"], row["episodes"]) == (41.17, "2019-06-28", 2, 1)

    codes, days, alert, tx = department_alerts("2019-06-01", "2019-08-31")
    assert [r["code"] for r in results["departments"]] == codes  # the 13 of Occitanie
    assert {r["code"]: r["alert_days"] for r in results["departments"]} == dict(zip(codes, alert.sum(axis=0).tolist()))
    assert results["departments_in_alert"] == [c for c, n in zip(codes, alert.sum(axis=0)) if n]
    assert results["alert_days_total"] == int(alert.sum()) == sum(e["alert_days"] for e in results["episodes"])
    assert results["missing_days"] == int(tx.loc[days].isna().sum().sum())


def test_heatwave_watch_on_another_period(env):
    results = execute(HEAT, env, start="2020-07-01", end="2020-08-15")["results"]
    codes, days, alert, _ = department_alerts("2020-07-01", "2020-08-15")
    assert results["period"] == {"start": "2020-07-01", "end": "2020-08-15", "days": len(days)}
    assert {r["code"]: r["alert_days"] for r in results["departments"]} == dict(zip(codes, alert.sum(axis=0).tolist()))
    starts = alert & ~np.vstack([np.zeros((1, len(codes)), bool), alert[:-1]])
    assert {r["code"]: r["episodes"] for r in results["departments"]} == dict(zip(codes, starts.sum(axis=0).tolist()))
    for episode in results["episodes"]:
        assert "2020-07-01" <= episode["first_alert_day"] <= episode["last_alert_day"] <= "2020-08-15"


def test_heatwave_watch_of_a_summer_after_the_series_watches_its_last_summer(env):
    # The schedule asks for this summer; the départemental series stops in 2020.
    document = execute(HEAT, env, summer=2025)
    results = document["results"]
    assert results["report_period"] == {"requested": 2025, "reported": 2020, "delay_years": 5, "stale": True}
    assert results["summer"] == 2020 and results["period"]["start"] == "2020-06-01"
    assert results["period"]["end"] == "2020-09-30"
    first = outputs(env)[0]
    assert first["data"]["text/plain"].startswith("⚠ Pas encore de mesures pour l'été 2025")
    assert [d["name"] for d in document["datasets"]] == ["temperature_departments_daily"]


@pytest.mark.parametrize("parameters, expected", [
    ({"start": "2015-06-01", "end": "2015-08-31"},
     "start=2015-06-01, end=2015-08-31 : aucune donnée de temperature_departments_daily sur cette période ; "
     "années disponibles : 2018, 2019, 2020 (du 01/01/2018 au 31/12/2020)"),
    ({"start": "2019-13-01"}, "start='2019-13-01' : date invalide"),
    ({"start": "2019-08-31", "end": "2019-06-01"}, "start=2019-08-31, end=2019-06-01 : le début de la période"),
    ({"source": "stations"}, "source='stations' : source inconnue"),
    ({"summer": 2010}, "summer=2010 : avant la première année mesurée ; années dans les données : 2018, 2019, 2020"),
])
def test_heatwave_watch_bad_parameter_is_one_french_line(env, parameters, expected):
    assert expected in refused(HEAT, env, **parameters)


# --------------------------------------------------------------------------- bicycle counts


def bicycle_days() -> pd.DataFrame:
    """Counts per local day (rows) and counter (columns), lanes added up, from the catalogue."""
    from occidata import catalog

    b = catalog.load("bicycle_counts")
    b = b.assign(day=b["date"].dt.tz_convert(None), count=b["count"].astype(float))
    return b.groupby(["day", "counter_id"])["count"].sum(min_count=1).unstack("counter_id")


def test_mobility_patterns_lockdowns_against_the_same_weeks_later(env):
    results = execute(BIKES, env)["results"]
    bikes = results["bicycles"]
    daily = bicycle_days()

    assert bikes["origin"] == "real" == origin_of(results, "bicycle_counts")
    assert bikes["period"]["start"] == f"{daily.index.min():%Y-%m-%d}" == "2020-01-01"
    assert bikes["period"]["end"] == f"{daily.index.max():%Y-%m-%d}"
    assert bikes["counters"] == sorted(daily.columns) and len(bikes["counters"]) == 13
    # The first lockdown (17 March - 10 May 2020) at the counter counting since January 2020: far
    # fewer bicycles than on the same weekdays 52 and 104 weeks later.
    first = [r for r in bikes["lockdowns"] if r["lockdown"].startswith("1er") and r["counter_id"] == "X2H19070220"]
    assert [r["compared_with"] for r in first] == [2021, 2022]
    lockdown = pd.date_range("2020-03-17", "2020-05-10")
    for row in first:
        later = lockdown + pd.Timedelta(weeks=52 * (row["compared_with"] - 2020))
        during = daily["X2H19070220"].reindex(lockdown).to_numpy()
        after = daily["X2H19070220"].reindex(later).to_numpy()
        paired = ~np.isnan(during) & ~np.isnan(after)
        assert row["paired_days"] == paired.sum()
        assert row["lockdown_mean"] == pytest.approx(during[paired].mean(), abs=0.05)
        assert row["later_mean"] == pytest.approx(after[paired].mean(), abs=0.05)
        assert row["lockdown_mean"] < 0.5 * row["later_mean"] and row["ratio"] < 0.5
    # Counters installed after a lockdown do not speak of it.
    assert {r["counter_id"] for r in bikes["lockdowns"]} <= {c for c in daily.columns
                                                           if daily[c].loc[:"2020-12-14"].notna().sum() >= 14}
    # Trend by year: each counter's mean per day counted, and the days counted.
    for counter, years in bikes["by_year"].items():
        for year, value in years.items():
            counts = daily[counter][daily.index.year == int(year)]
            assert bikes["days_by_year"][counter][year] == counts.notna().sum()
            assert value == (pytest.approx(counts.mean(), abs=0.05) if counts.notna().any() else None)
    # Weekly profile: commuting days above the weekend at the oldest counter.
    profile = bikes["weekly_profile"]["X2H19070220"]
    assert min(profile[d] for d in ("mar/Tue", "mer/Wed", "jeu/Thu")) > max(profile["sam/Sat"], profile["dim/Sun"])
    # The road-traffic part is still there, on its own data.
    assert results["n_counters"] > 0 and "counters" in results


def test_mobility_patterns_on_another_period(env):
    bikes = execute(BIKES, env, bike_start="2021-01-01", bike_end="2021-12-31")["results"]["bicycles"]
    assert bikes["period"] == {"start": "2021-01-01", "end": "2021-12-31", "days": 365}
    assert bikes["lockdowns"] == []  # no day of 2020 in the period
    assert all(list(years) == ["2021"] for years in bikes["by_year"].values())
    daily = bicycle_days().loc["2021-01-01":"2021-12-31"]
    assert bikes["counters"] == sorted(daily.columns[daily.notna().any()])


@pytest.mark.parametrize("parameters, expected", [
    ({"bike_start": "2030-01-01"}, "bike_start=2030-01-01, bike_end=None : aucun comptage vélo sur cette période ; "
                                   "années comptées : 2020, 2021, 2022, 2023, 2024"),
    ({"bike_end": "31/12/2021"}, "bike_end='31/12/2021' : date invalide"),
])
def test_mobility_patterns_bad_period_is_one_french_line(env, parameters, expected):
    assert expected in refused(BIKES, env, **parameters)


# --------------------------------------------------------------------------- HWMId at Montpellier


def station_series() -> pd.DataFrame:
    from occidata import catalog

    s = catalog.load("temperature_station_daily")
    return s.assign(day=s["date"].dt.tz_convert(None)).set_index("day")


def test_hwmid_montpellier_ranks_2003_among_the_strongest_years(env):
    from occidata import compute

    results = execute(HWMID, env)["results"]
    s = station_series()

    assert results["origin"] == "real" == origin_of(results, "temperature_station_daily")
    assert results["variable"] == "TG"
    assert results["reference"] == {"start": 1981, "end": 2010, "years": 30, "excluded_values": 0}
    assert results["ranked"] == {"first_year": 1946, "last_year": 2020, "incomplete_years": []}
    assert (results["percentile"], results["min_days"]) == (90.0, 3)
    top = [row["year"] for row in results["top"]]
    assert len(top) == 10 and 2003 in top[:5] and 2019 in top[:5]
    # Missing and suspect values are excluded and counted: the file's two missing days.
    coverage = results["coverage"]
    assert coverage["missing"] == int((s["quality"] == "missing").sum()) == 2
    assert coverage["suspect"] == int((s["quality"] == "suspect").sum())
    assert coverage["excluded_by_year"] == {"1947": 1, "2020": 1}
    assert (coverage["first_day"], coverage["last_day"]) == ("1946-01-01", "2021-02-28")

    # The index computed here on the catalogue's valid values agrees, year by year.
    tg = s["tg"].where(s["quality"] == "valid").reindex(pd.date_range("1946-01-01", "2021-02-28"))
    study, ref = tg.loc["1946":"2020"], tg.loc["1981":"2010"]
    direct = compute.hwmid(study.to_numpy(), compute.calendar_day(study.index.values), study.index.year.to_numpy(),
                           ref.to_numpy(), compute.calendar_day(ref.index.values), ref.index.year.to_numpy(),
                           backend="numpy")
    assert results["t25"] == pytest.approx(float(direct.t25)) and results["t75"] == pytest.approx(float(direct.t75))
    by_year = {int(y): v for y, v in results["hwmid_by_year"].items()}
    assert list(by_year) == direct.years.tolist()
    np.testing.assert_allclose(list(by_year.values()), direct.hwmid, rtol=1e-9)
    assert top == sorted((y for y in by_year if by_year[y] > 0), key=lambda y: -by_year[y])[:10]
    # Each top year comes with its strongest wave, within the year.
    for row in results["top"]:
        assert str(row["year"]) == row["wave_start"][:4] and row["wave_days"] >= 3
        assert row["wave_start"] <= row["peak_day"] <= row["wave_end"]
        assert row["peak_tg"] == s.loc[row["peak_day"], "tg"].item()


def test_hwmid_montpellier_on_another_reference_period(env):
    # first_year as `occidata report run -p first_year 1991` passes it (its default is None: a string).
    results = execute(HWMID, env, reference_start=1961, reference_end=1990, first_year="1991", last_year=2021,
                      top=5)["results"]
    assert results["reference"]["start"] == 1961 and results["reference"]["years"] == 30
    assert results["ranked"] == {"first_year": 1991, "last_year": 2021, "incomplete_years": [2021]}
    assert len(results["top"]) == 5 and all(1991 <= row["year"] <= 2021 for row in results["top"])
    assert 2003 in [row["year"] for row in results["top"]]
    assert sorted(results["hwmid_by_year"]) == [str(y) for y in range(1991, 2022)]


@pytest.mark.parametrize("parameters, expected", [
    ({"reference_start": 1900}, "reference_start=1900 : hors de la série de Montpellier-Aeroport ; la période de "
                                "référence doit tenir dans ses années complètes de la série : 1946-2020"),
    ({"reference_end": 2021}, "reference_end=2021 : hors de la série"),
    ({"reference_start": 2011, "reference_end": 1981}, "reference_start=2011, reference_end=1981 : "),
    ({"percentile": 150.0}, "percentile=150.0 : un centile entre 50 et 99,9"),
    ({"last_year": 2030}, "last_year=2030 : hors de la série"),
])
def test_hwmid_montpellier_bad_parameter_is_one_french_line(env, parameters, expected):
    assert expected in refused(HWMID, env, **parameters)
