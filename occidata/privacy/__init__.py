"""Privacy: the audit log of non-public reads (pseudonymisation and small-cell suppression come later)."""
