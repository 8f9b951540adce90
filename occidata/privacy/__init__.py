"""Privacy: what keeps partner and personal data where they belong.

- ``audit``: the append-only, hash-chained audit log (reads, grants, revokes, publications,
  logins), people pseudonymised; ``occidata audit verify|query|prune``.
- ``pseudonyms``: keyed pseudonyms (HMAC-SHA256) with the key kept under the state directory.
- ``suppression``: small-cell suppression (counts under k = 11) with secondary suppression, so
  that published totals cannot give a hidden count away.
- ``aggregation``: weekly counts and safe tables for the restricted health data.
"""
