"""Datasets of the Occitanie Data Lab: one module per dataset (schema, provider reader, generator).

Each module has ``NAME``, ``KIND`` ("table" or "grid"), ``METADATA``, ``SIZES``,
``generate(size, seed)`` (synthetic data shaped like the provider's) and, for tables, ``SCHEMA``;
``READERS`` maps provider formats to readers where a real provider format exists, and ``REAL``
(:class:`.real_sources.RealSource`) names the real exports the build uses when they are present.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = {
    "air_quality_hourly": "occidata.datasets.air_quality",
    "air_quality_means": "occidata.datasets.air_quality_means",
    "traffic_counts": "occidata.datasets.traffic",
    "bicycle_counts": "occidata.datasets.bicycle_counts",
    "vehicle_count_campaigns": "occidata.datasets.vehicle_count_campaigns",
    "bathing_water": "occidata.datasets.bathing_water",
    "weather_daily": "occidata.datasets.weather",
    "temperature_departments_daily": "occidata.datasets.temperature_departments",
    "temperature_station_daily": "occidata.datasets.temperature_station",
    "synop_3hourly": "occidata.datasets.synop",
    "building_meters": "occidata.datasets.building_meters",
    "building_meters_labels": "occidata.datasets.building_meter_labels",
    "agri_sensors": "occidata.datasets.agri_sensors",
    "health_admissions": "occidata.datasets.health_admissions",
}


class UnknownDatasetError(KeyError):
    """A dataset name the platform does not have; the message lists the known ones."""

    def __str__(self) -> str:
        return self.args[0]


def names() -> list[str]:
    """The dataset names, in catalogue order."""
    return list(MODULES)


def get_dataset(name: str) -> ModuleType:
    """The module of dataset ``name``; an unknown name is an error listing the known ones."""
    if name not in MODULES:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[name])
