"""Datasets of the Occitanie Data Lab: one module per dataset (schema, provider reader, generator)."""
