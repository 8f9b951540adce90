"""occidata.compute: the analyses behind the notebooks, reports and dashboards.

Public API filled in once the analysis modules exist.
"""
