"""The data service (/services/data/) on a real hub: group-based access, fresh on every request, audited."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from occidata.catalog import tables
from occidata.privacy.audit import read_audit, verify_audit
from occidata.privacy.pseudonyms import load_or_create_key, pseudonymise

from conftest import RunningHub, start_hub

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def data_hub(tmp_path_factory, tiny_data_dir):
    """One hub for the module (demo mode), serving the tiny data; no reports, no culler."""
    local, token = start_hub(tmp_path_factory.mktemp("data-hub"), DATA_DIR=str(tiny_data_dir),
                             REPORTS__ENABLED="false", CULLER__ENABLED="false")
    try:
        hub = RunningHub(local, token)
        wait_for_service(hub.url + "services/data/api/entries")
        yield hub
    finally:
        local.stop()


def wait_for_service(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:  # the hub starts the service; give it a moment to listen
        status = requests.get(url, allow_redirects=False, timeout=10).status_code
        if status != 503 or time.monotonic() > deadline:
            return
        time.sleep(0.3)


def make_user(hub: RunningHub, name: str) -> str:
    """A hub user and an API token of theirs (with the user role's scopes)."""
    service = hub.service()
    created = service.api("POST", f"users/{name}")
    assert created.status_code in (201, 409), created.text
    answer = service.api("POST", f"users/{name}/tokens", json={"note": "data service test", "expires_in": 3600})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def set_group(hub: RunningHub, group: str, name: str, member: bool) -> None:
    """Change a membership straight through the hub's REST API (not through the data trust)."""
    response = hub.service().api("POST" if member else "DELETE", f"groups/{group}/users", json={"users": [name]})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def steward(data_hub) -> str:
    """The hub admin's own API token (as /hub/token makes it): the configured admin is a steward."""
    return make_user(data_hub, data_hub.admin_name)


def change_access(hub: RunningHub, token: str, action: str, name: str, level: str = "partner") -> requests.Response:
    return requests.post(hub.url + "services/data/api/access", json={"action": action, "user": name, "level": level},
                         headers={"Authorization": f"token {token}"}, timeout=30)


def grant(hub: RunningHub, token: str, name: str, level: str = "partner") -> None:
    """Grant through the data service, as a steward does (a membership alone grants nothing)."""
    answer = change_access(hub, token, "grant", name, level)
    assert answer.status_code == 200 and answer.json()["status"] == "granted", answer.text


def revoke(hub: RunningHub, token: str, name: str, level: str = "partner") -> None:
    answer = change_access(hub, token, "revoke", name, level)
    assert answer.status_code == 200, answer.text


def get(hub: RunningHub, path: str, token: str | None, **params) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(hub.url + "services/data/" + path, headers=headers, params=params, timeout=60,
                        allow_redirects=False)


def arrow_frame(response: requests.Response) -> pd.DataFrame:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    with pa.ipc.open_stream(response.content) as reader:
        return tables.to_pandas(reader.read_all())


def audit_log(hub: RunningHub) -> Path:
    return Path(hub.local.cfg["state_dir"]) / "logs" / "audit.jsonl"


def pseudonym(hub: RunningHub, name: str) -> str:
    return pseudonymise(name, load_or_create_key(Path(hub.local.cfg["state_dir"])))


def test_partner_entry_needs_the_group_and_a_revoke_acts_on_the_next_request(data_hub, tiny_data_dir, steward):
    token = make_user(data_hub, "chercheur-donnees")
    denied = get(data_hub, "api/tables/agri_sensors", token)
    assert denied.status_code == 403
    body = denied.json()
    assert body["level_needed"] == "partner"
    page = f"{data_hub.url}services/catalogue/agri_sensors"
    assert body["catalogue_page"] == page
    # French, with the level, the stewards who grant it (here the configured admin) and the entry's page.
    assert body["error"].startswith("Accès refusé à « agri_sensors » : cette entrée demande le niveau d'accès "
                                    "« partner »"), body["error"]
    assert f"l'intendant des données de la plateforme ({data_hub.admin_name}) y répond." in body["error"]
    assert f"{data_hub.url}services/data/requests/new?dataset=agri_sensors" in body["error"]  # where to ask
    assert body["error"].endswith(f"Fiche de l'entrée : {page}")
    last = read_audit(audit_log(data_hub))[-1]
    assert (last["event"], last["what"], last["access"]) == ("access_denied", "agri_sensors", "partner")
    assert last["who"] == pseudonym(data_hub, "chercheur-donnees")

    grant(data_hub, steward, "chercheur-donnees")
    frame = arrow_frame(get(data_hub, "api/tables/agri_sensors", token))
    direct = tables.to_pandas(tables.read_table("agri_sensors", tiny_data_dir))
    pd.testing.assert_frame_equal(frame, direct)
    read = read_audit(audit_log(data_hub))[-1]
    assert (read["event"], read["what"], read["access"]) == ("read", "agri_sensors", "partner")
    assert read["who"] == pseudonym(data_hub, "chercheur-donnees")
    assert "chercheur-donnees" not in audit_log(data_hub).read_text()

    revoke(data_hub, steward, "chercheur-donnees")
    again = get(data_hub, "api/tables/agri_sensors", token)
    assert again.status_code == 403, "a revoke must act on the very next request"
    assert verify_audit(audit_log(data_hub)) == []


def test_filters_are_honoured_and_audited(data_hub, tiny_data_dir, steward):
    token = make_user(data_hub, "filtreuse")
    grant(data_hub, steward, "filtreuse")
    direct = tables.to_pandas(tables.read_table("building_meters", tiny_data_dir))
    department = direct["department"].iloc[0]
    first = direct["time_start"].min()
    start = (first + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    end = (first + pd.Timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M")
    frame = arrow_frame(get(data_hub, "api/tables/building_meters", token, year="2024", department=department,
                            start=start, end=end, columns="building_id,department,time_start,water_l"))
    assert list(frame.columns) == ["building_id", "department", "time_start", "water_l"]
    t = direct["time_start"]
    expected = direct[(direct["department"] == department) & (t >= pd.Timestamp(start, tz="UTC"))
                      & (t < pd.Timestamp(end, tz="UTC"))][list(frame.columns)].reset_index(drop=True)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(frame, expected)
    read = read_audit(audit_log(data_hub))[-1]
    assert read["parameters"] == {"year": 2024, "columns": ["building_id", "department", "time_start", "water_l"],
                                  "start": pd.Timestamp(start, tz="UTC").isoformat(),
                                  "end": pd.Timestamp(end, tz="UTC").isoformat(),
                                  "department": department}
    # Parquet too, and a department given by its code (34: Hérault).
    parquet = get(data_hub, "api/tables/building_meters", token, format="parquet", department="34")
    assert parquet.status_code == 200, parquet.text[:300]
    herault = pq.read_table(io.BytesIO(parquet.content)).to_pandas()
    assert set(herault["department"]) <= {"Hérault"} and len(herault) == (direct["department"] == "Hérault").sum()


def test_bad_requests_are_json_and_name_the_problem(data_hub, steward):
    token = make_user(data_hub, "maladroit")
    grant(data_hub, steward, "maladroit")
    unknown = get(data_hub, "api/tables/meteo", token)
    assert unknown.status_code == 404 and "agri_sensors" in unknown.json()["error"]
    bad_column = get(data_hub, "api/tables/agri_sensors", token, columns="sensor_id,colour")
    assert bad_column.status_code == 400 and bad_column.json()["parameter"] == "columns"
    assert "colour" in bad_column.json()["error"]
    bad_date = get(data_hub, "api/tables/agri_sensors", token, start="yesterday")
    assert bad_date.status_code == 400 and bad_date.json()["parameter"] == "start"
    bad_format = get(data_hub, "api/tables/agri_sensors", token, format="csv")
    assert bad_format.status_code == 400 and bad_format.json()["parameter"] == "format"
    assert get(data_hub, "api/zarr/weather_daily/../manifest.json", token).status_code in (400, 404)
    assert get(data_hub, "api/zarr/weather_daily/nothing/here", token).status_code == 404
    no_token = get(data_hub, "api/tables/agri_sensors", None)
    assert no_token.status_code == 302 and "/hub/api/oauth2/authorize" in no_token.headers["Location"]
    wrong = get(data_hub, "api/tables/agri_sensors", "not-a-token")
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    entries = {e["name"]: e for e in get(data_hub, "api/entries", token).json()}
    assert entries["agri_sensors"]["granted"] and entries["air_quality_hourly"]["granted"]
    assert not entries["health_admissions"]["granted"]
    assert entries["health_admissions"]["level_needed"] == "restricted:health_admissions"


def test_restricted_entries_are_never_served_in_demo_mode(data_hub):
    token = make_user(data_hub, "epidemiologiste")
    # Even a membership (here put straight into the hub) is never served restricted data in demo mode.
    set_group(data_hub, "restricted:health_admissions", "epidemiologiste", True)
    refused = get(data_hub, "api/tables/health_admissions", token)
    assert refused.status_code == 403
    assert "mode démo ne sert aucune donnée restreinte" in refused.json()["error"]
    assert refused.json()["level_needed"] == "restricted:health_admissions"
    last = read_audit(audit_log(data_hub))[-1]
    assert (last["event"], last["what"]) == ("access_denied", "health_admissions")


def test_grid_over_http_zarr_equals_the_direct_read(data_hub, tiny_data_dir):
    import xarray as xr

    token = make_user(data_hub, "climatologue")
    url = data_hub.url + "services/data/api/zarr/weather_daily"
    remote = xr.open_zarr(url, consolidated=True, storage_options={"headers": {"Authorization": f"token {token}"}})
    assert remote.chunks, "lazy and dask-backed"
    direct = xr.open_zarr(tiny_data_dir / "weather_daily" / "weather_daily.zarr", consolidated=True)
    times = direct["time"].values
    window = slice(times[2], times[min(6, len(times) - 1)])
    xr.testing.assert_identical(remote.sel(time=window).load(), direct.sel(time=window).load())


def test_stewards_grant_and_revoke_through_the_service(data_hub, steward):
    admin_token = steward  # the configured hub admin is a steward
    researcher = make_user(data_hub, "doctorante")
    request = {"action": "grant", "user": "doctorante", "level": "partner"}
    url = data_hub.url + "services/data/api/access"
    refused = requests.post(url, json=request, headers={"Authorization": f"token {researcher}"}, timeout=30)
    assert refused.status_code == 403 and "steward" in refused.json()["error"]
    assert get(data_hub, "api/access", researcher).status_code == 403

    granted = requests.post(url, json=request, headers={"Authorization": f"token {admin_token}"}, timeout=30)
    assert granted.status_code == 200, granted.text
    assert "doctorante" in granted.json()["members"]
    assert get(data_hub, "api/tables/agri_sensors", researcher).status_code == 200
    last = read_audit(audit_log(data_hub))[-2]  # then the read
    assert (last["event"], last["what"]) == ("grant", "partner")
    assert last["who"] == pseudonym(data_hub, "doctorante") and last["by"] == pseudonym(data_hub, data_hub.admin_name)
    listing = get(data_hub, "api/access", admin_token).json()
    assert "doctorante" in listing["members"]["partner"] and "restricted:health_admissions" in listing["members"]

    revoked = requests.post(url, json={**request, "action": "revoke"}, headers={"Authorization": f"token {admin_token}"},
                            timeout=30)
    assert revoked.status_code == 200 and "doctorante" not in revoked.json()["members"]
    assert read_audit(audit_log(data_hub))[-1]["event"] == "revoke"
    assert get(data_hub, "api/tables/agri_sensors", researcher).status_code == 403
    for bad, parameter in [({**request, "user": "personne"}, "user"), ({**request, "level": "restricted:x"}, "level"),
                           ({**request, "action": "give"}, "action")]:
        answer = requests.post(url, json=bad, headers={"Authorization": f"token {admin_token}"}, timeout=30)
        assert answer.status_code == 400 and answer.json()["parameter"] == parameter, answer.text


def test_client_load_and_plain_intake_go_through_the_service(data_hub, tiny_data_dir, steward, monkeypatch):
    import intake

    from occidata import catalog
    from occidata.catalog import remote
    from occidata.catalog.spec import CATALOG_PATH

    token = make_user(data_hub, "laborantine")
    monkeypatch.setenv("OCCIDATA_DATA_SERVICE_URL", data_hub.url + "services/data/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    monkeypatch.setenv("OCCIDATA_DATA_DIR", str(tiny_data_dir))
    monkeypatch.setenv("OCCIDATA_ACCESS_LEVELS", "partner")  # not believed: the service checks the hub groups
    with pytest.raises(PermissionError, match="demande le niveau d'accès « partner »"):
        remote.fetch_table("agri_sensors")
    with pytest.raises(PermissionError, match="demande le niveau d'accès « partner »") as refused:
        catalog.load("agri_sensors")
    assert str(refused.value).endswith(f"{data_hub.url}services/catalogue/agri_sensors")
    # Plain Intake through the catalogue file: the same refusal.
    with pytest.raises(PermissionError, match="demande le niveau d'accès « partner »"):
        intake.from_yaml_file(str(CATALOG_PATH))["agri_sensors"].read()
    assert {"name": "agri_sensors", "access": "partner"}.items() <= catalog.datasets_denied()[-1].items()

    grant(data_hub, steward, "laborantine")
    direct = tables.to_pandas(tables.read_table("agri_sensors", tiny_data_dir))
    fetched = remote.fetch_table("agri_sensors", year=2024, columns=["sensor_id", "time_start"])
    pd.testing.assert_frame_equal(fetched, direct[["sensor_id", "time_start"]])
    loaded = catalog.load("agri_sensors", year=2024)
    pd.testing.assert_frame_equal(loaded, direct)
    assert catalog.datasets_read()[-1]["checksums"], "provenance comes back from the service"
    plain = intake.from_yaml_file(str(CATALOG_PATH))["agri_sensors"].read()
    pd.testing.assert_frame_equal(plain, direct)
    with pytest.raises(catalog.CatalogError, match="no dataset named 'nope'"):
        remote.fetch_table("nope")

    monkeypatch.setenv("OCCIDATA_DATA_SERVICE_URL", "http://127.0.0.1:9/services/data/")
    with pytest.raises(catalog.CatalogError, match="data service unreachable at .*is the hub running"):
        remote.fetch_table("agri_sensors")


def test_a_lab_kernel_reads_through_the_service_with_its_servers_token(data_hub, tiny_data_dir, steward):
    from occidata.hub.client import HubSession

    token = make_user(data_hub, "labo")
    grant(data_hub, steward, "labo")
    person = HubSession(data_hub.url)
    person.username, person.token = "labo", token
    assert person.start_server()["ready"]
    try:
        kernel = person.start_kernel()
        code = (
            "import os, intake\n"
            "from occidata import catalog\n"
            "print(os.environ['OCCIDATA_DATA_SERVICE_URL'].endswith('/services/data/'))\n"
            "print(len(catalog.load('agri_sensors', year=2024, columns=['sensor_id'])))\n"
            "print(len(intake.from_yaml_file(os.path.join(%r, 'catalog/catalog.yaml'))['agri_sensors'].read()))\n"
            "try:\n"
            "    catalog.load('health_admissions')\n"
            "except PermissionError as e:\n"
            "    print('refused:', e)\n"
        ) % str(Path(__file__).resolve().parent.parent)
        out = person.execute(kernel["id"], code, timeout=120).split("\n")
        rows = len(tables.read_table("agri_sensors", tiny_data_dir))
        assert out[:3] == ["True", str(rows), str(rows)], out
        assert "mode démo ne sert aucune donnée restreinte" in out[3], out
        assert out[3].endswith(f"{data_hub.url}services/catalogue/health_admissions"), out
        # The read came from the service, with the server's token, as the user.
        reads = [r for r in read_audit(audit_log(data_hub)) if r["event"] == "read" and r["what"] == "agri_sensors"]
        assert reads[-1]["who"] == pseudonym(data_hub, "labo")
        assert reads[-1]["parameters"] == {"year": 2024}
    finally:
        person.stop_server()


def test_a_membership_made_through_the_hub_api_grants_nothing(data_hub, steward):
    """An admin (here the hub's admin service) adding someone to ``partner`` straight through the
    hub's REST API gives no access: the data service answers 403 (audited) until a steward grants
    it; a removal through the hub API ends a grant at once, and adding back does not restore it."""
    token = make_user(data_hub, "raccourci")
    set_group(data_hub, "partner", "raccourci", True)
    refused = get(data_hub, "api/tables/agri_sensors", token)
    assert refused.status_code == 403, refused.text[:300]
    assert "vous êtes membre du groupe du hub « partner », mais cette appartenance n'a pas été accordée par la " \
           "fiducie" in refused.json()["error"]
    last = read_audit(audit_log(data_hub))[-1]
    assert (last["event"], last["what"], last["reason"]) == ("access_denied", "agri_sensors",
                                                            "hub group membership not granted through the data trust")
    listing = get(data_hub, "api/access", steward).json()
    assert "raccourci" in listing["not_granted"]["partner"] and "raccourci" not in listing["members"]["partner"]
    entries = {e["name"]: e for e in get(data_hub, "api/entries", token).json()}
    assert not entries["agri_sensors"]["granted"]

    grant(data_hub, steward, "raccourci")
    assert get(data_hub, "api/tables/agri_sensors", token).status_code == 200
    set_group(data_hub, "partner", "raccourci", False)  # removed by another door
    assert get(data_hub, "api/tables/agri_sensors", token).status_code == 403
    lapsed = [r for r in read_audit(audit_log(data_hub)) if r["event"] == "revoke"][-1]
    assert lapsed["who"] == pseudonym(data_hub, "raccourci") and "outside the data service" in lapsed["reason"]
    set_group(data_hub, "partner", "raccourci", True)  # and put back by it: the grant is gone
    assert get(data_hub, "api/tables/agri_sensors", token).status_code == 403
    assert verify_audit(audit_log(data_hub)) == []


def test_nobody_grants_themselves_and_restricted_needs_a_second_steward(data_hub, steward):
    """Demo mode: the rules on grants hold there too (restricted data are still never served)."""
    refused = change_access(data_hub, steward, "grant", data_hub.admin_name, "partner")
    assert refused.status_code == 403, refused.text
    assert "Nobody grants a right to themselves" in refused.json()["error"]
    make_user(data_hub, "patiente-zero")
    first = change_access(data_hub, steward, "grant", "patiente-zero", "restricted:health_admissions")
    assert first.status_code == 202 and first.json()["status"] == "pending", first.text
    again = change_access(data_hub, steward, "grant", "patiente-zero", "restricted:health_admissions")
    assert again.status_code == 409 and "second" in again.json()["error"]
    listing = get(data_hub, "api/access", steward).json()
    assert {"user": "patiente-zero", "level": "restricted:health_admissions"}.items() <= listing["pending"][0].items()
    assert "patiente-zero" not in listing["members"]["restricted:health_admissions"]
    revoke(data_hub, steward, "patiente-zero", "restricted:health_admissions")  # withdraws the request
    assert get(data_hub, "api/access", steward).json()["pending"] == []


def test_a_deeply_nested_body_and_a_very_long_zarr_key_are_400_with_a_json_error(data_hub, steward):
    deep = "[" * 100_000 + "]" * 100_000  # valid JSON; the parser gives up long before the end
    answer = requests.post(data_hub.url + "services/data/api/access", data=deep, timeout=30,
                           headers={"Authorization": f"token {steward}", "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["parameter"] == "body" and "nested too deeply" in answer.json()["error"]

    token = make_user(data_hub, "cle-longue")
    for key in ["a" * 1000, "/".join(["b" * 250] * 17)]:  # one name past NAME_MAX; a path past PATH_MAX
        answer = get(data_hub, f"api/zarr/weather_daily/{key}", token)
        assert answer.status_code == 400, answer.text[:300]
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["parameter"] == "key" and "Zarr key too long" in answer.json()["error"]
    assert get(data_hub, "api/zarr/weather_daily/.zmetadata", token).status_code == 200  # real keys still served
