"""Validate the DCAT-AP export (:mod:`.dcat`) against our SHACL shapes (``dcat_ap_shapes.ttl``).

``check_dcat(document)`` parses the JSON-LD with rdflib (the context is inline: nothing is
fetched) and runs pyshacl; each result becomes a :class:`Finding` naming the dataset it is about
(the dataset itself, or the one whose distribution, publisher, period... it is), the property and
the shapes' French message. Missing recommended properties are warnings; the rest are errors.
rdflib and pyshacl are platform dependencies; a broken install without them gets a clear error, not a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .dcat import CONTEXT, DCAT_AP_VERSION
from .tables import CatalogError

SHAPES_PATH = Path(__file__).with_name("dcat_ap_shapes.ttl")
SH = "http://www.w3.org/ns/shacl#"
ERROR, WARNING = "erreur", "avertissement"
CATALOGUE = "catalogue"
_MISSING = ("la vérification DCAT-AP a besoin de rdflib et pyshacl : pip install rdflib pyshacl "
            "(ou pip install 'occidata[test]')")


@dataclass(frozen=True, order=True)
class Finding:
    """One shape result: ``severity`` (``erreur`` or ``avertissement``), ``subject`` (the datasets
    it is about, or ``catalogue``), ``path`` (``dct:title``...) and the French ``message``."""
    severity: str
    subject: str
    path: str
    message: str

    def line(self) -> str:
        """One line in French, e.g. ``erreur : jeu bicycle_counts : licence (dct:license) : ...``."""
        where = CATALOGUE if self.subject == CATALOGUE else f"jeu {self.subject}"
        said = self.message if f"({self.path})" in self.message else f"{self.path} : {self.message}"
        return f"{self.severity} : {where} : {said}"


def _libraries():
    try:
        import pyshacl
        import rdflib
    except ImportError as error:
        raise CatalogError(f"{_MISSING} ({error})") from None
    return rdflib, pyshacl


def _compact(iri) -> str:
    text = str(iri)
    for prefix, namespace in CONTEXT.items():
        if text.startswith(namespace):
            return f"{prefix}:{text[len(namespace):]}"
    return text


def _subject(data, focus, rdflib) -> str:
    """The datasets (their dct:identifier) or the catalogue that ``focus`` belongs to: the nearest
    ones found walking back along the graph's links."""
    dcat, dct, rdf = rdflib.Namespace(CONTEXT["dcat"]), rdflib.Namespace(CONTEXT["dct"]), rdflib.RDF
    seen, level = {focus}, [focus]
    for _ in range(5):
        datasets = sorted(str(data.value(node, dct.identifier) or node) for node in level
                          if (node, rdf.type, dcat.Dataset) in data)
        if datasets:
            return ", ".join(datasets)
        if any((node, rdf.type, dcat.Catalog) in data for node in level):
            return CATALOGUE
        level = [s for node in level for s in data.subjects(None, node) if s not in seen]
        seen.update(level)
    return str(focus)


def check_dcat(document: dict) -> list[Finding]:
    """The findings of ``dcat_ap_shapes.ttl`` on the JSON-LD ``document``, errors first."""
    rdflib, pyshacl = _libraries()
    data = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    shapes = rdflib.Graph().parse(SHAPES_PATH, format="turtle")
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    sh = rdflib.Namespace(SH)
    findings = set()
    for result in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        messages = list(report.objects(result, sh.resultMessage))
        message = next((m for m in messages if getattr(m, "language", None) == "fr"), messages[0] if messages else "")
        severity = ERROR if report.value(result, sh.resultSeverity) == sh.Violation else WARNING
        findings.add(Finding(severity, _subject(data, report.value(result, sh.focusNode), rdflib),
                             _compact(report.value(result, sh.resultPath) or ""), str(message)))
    return sorted(findings, key=lambda f: (f.severity != ERROR, f.subject != CATALOGUE, f.subject, f.path, f.message))


def summary(findings: list[Finding], datasets: int) -> str:
    """The last line of ``occidata catalog dcat --check``, in French."""
    errors = sum(f.severity == ERROR for f in findings)
    warnings = len(findings) - errors
    verdict = "conforme" if not errors else f"NON conforme ({errors} erreur(s))"
    return (f"Catalogue DCAT-AP {DCAT_AP_VERSION} {verdict} aux formes {SHAPES_PATH.name} : "
            f"{datasets} jeu(x) public(s), {warnings} avertissement(s).")


__all__ = ["ERROR", "WARNING", "Finding", "SHAPES_PATH", "check_dcat", "summary"]
