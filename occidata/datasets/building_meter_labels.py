"""building_meters_labels: the ground truth of the anomalies injected into building_meters.

A catalogue entry of its own so detection methods can be scored against it; it is built
from the same size and seed as the readings (see ``building_meters.generate_labels``).
"""

from __future__ import annotations

from . import building_meters

NAME = "building_meters_labels"
KIND = "table"
SCHEMA = building_meters.LABELS_SCHEMA
SIZES = building_meters.SIZES
METADATA = {
    **building_meters.METADATA,
    "title_fr": "Compteurs des bâtiments publics — anomalies connues (vérité terrain)",
    "title_en": "Public building meters — injected anomalies (ground truth)",
    "description": "Periods of water leaks and of lights or heating left on over weekends injected into "
    "the synthetic building_meters readings of the same build, to score anomaly detection.",
    "tags": ["buildings", "anomalies", "ground truth", "labels", "leaks"],
}
generate = building_meters.generate_labels
