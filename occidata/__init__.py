"""occidata: the Occitanie Data Lab platform and its analysis library."""

from .backend import current_backend
from .dask_cluster import cluster

__version__ = "0.1.0"
__all__ = ["cluster", "current_backend", "__version__"]
