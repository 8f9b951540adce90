"""Reports: curated notebooks run with papermill, archived with their results.

- :mod:`occidata.reports.summary`: what a notebook records of its results (summary.json)
  and which datasets it read.
"""
