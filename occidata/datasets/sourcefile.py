"""A provider file before a reader opens it: is it a text file we can read, in which encoding?

:func:`open_source` refuses what no reader could take (missing, a folder, a name too long,
unreadable, empty, binary), each with one French line that names the file and never quotes
its content, and settles the encoding: the one given (checked), else the providers' usual
ones in turn, UTF-8 with or without a byte-order mark, then Windows-1252, then Latin-1.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .schema import SchemaError, shown

# How the summary and the provenance name each encoding.
ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 with BOM",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16 with BOM",
    "cp1252": "Windows-1252 / Latin-1",
    "iso8859-1": "Latin-1 (ISO-8859-1)",
}
# Tried in this order when no encoding is given (Latin-1 decodes any byte: it comes last).
DETECTED = ("utf-8", "cp1252", "iso8859-1")
# Signatures of binary formats people mistake for exports, to say what the file is.
SIGNATURES = {
    b"PK\x03\x04": "une archive ZIP ou un classeur .xlsx",
    b"\xd0\xcf\x11\xe0": "un document Office ancien (.xls)",
    b"PAR1": "un fichier Parquet",
    b"\x1f\x8b": "un fichier compressé gzip",
    b"%PDF": "un PDF",
    b"\x89HDF": "un fichier HDF5 / NetCDF-4",
    b"CDF\x01": "un fichier NetCDF",
    b"CDF\x02": "un fichier NetCDF",
    b"\x89PNG": "une image PNG",
    b"\xff\xd8\xff": "une image JPEG",
}
SNIFF_BYTES = 64 * 1024


class SourceError(SchemaError):
    """A provider file no reader can take; the message names the file (and line and column)."""


@dataclass(frozen=True)
class SourceFile:
    """A provider file that passed the checks: where it is, its size, SHA-256 and encoding."""

    path: Path
    size: int
    sha256: str
    encoding: str

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)


def open_source(path: str | os.PathLike, encoding: str | None = None) -> SourceFile:
    """Check that ``path`` is a readable, non-empty text file and settle its encoding.

    Parameters
    ----------
    path
        The provider's file.
    encoding
        A Python codec name (``utf-8``, ``cp1252``, ``latin-1``...) to use instead of detection.

    Raises
    ------
    SourceError
        One French line naming the file and what is wrong with it (with the line and column of
        the first byte that does not decode).
    """
    path = Path(path)
    name = shown(path)
    if encoding is not None:
        encoding = _codec(encoding, name)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"{name} : fichier introuvable") from None
    except OSError as error:
        raise SourceError(_os_problem(path, name, error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise SourceError(f"{name} : c'est un dossier, pas un fichier ; donnez le chemin de l'export lui-même")
    if not stat.S_ISREG(info.st_mode):
        raise SourceError(f"{name} : pas un fichier ordinaire (tube, périphérique ou socket)")
    if info.st_size == 0:
        raise SourceError(f"{name} : fichier vide (0 octet)")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(_os_problem(path, name, error)) from None
    encoding = _settle_encoding(data, encoding, name)
    return SourceFile(path.resolve(), len(data), hashlib.sha256(data).hexdigest(), encoding)


def _codec(encoding: str, name: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise SourceError(f"{name} : encodage inconnu {encoding!r} (option --encoding) ; "
                          "exemples : utf-8, cp1252, latin-1") from None


def _os_problem(path: Path, name: str, error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
        return (f"{name} : nom de fichier trop long pour le système (un élément de {longest} octets, "
                f"{len(os.fsencode(str(path)))} pour le chemin) ; renommez le fichier")
    if isinstance(error, PermissionError):
        return f"{name} : lecture refusée (droits du fichier ou de son dossier)"
    if error.errno == errno.ENOTDIR:
        return f"{name} : un élément du chemin n'est pas un dossier"
    return f"{name} : lecture impossible ({error.strerror or type(error).__name__})"


def _settle_encoding(data: bytes, given: str | None, name: str) -> str:
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 or (given and not given.startswith("utf-16")):
        _refuse_binary(data, name)
    bom = data.startswith(codecs.BOM_UTF8)
    if given is not None:
        if given == "utf-8" and bom:
            given = "utf-8-sig"  # or the mark would stick to the first column's name
        _decode_or_refuse(data, given, name, f"octet illisible en {given} (option --encoding) ; essayez "
                                             "--encoding cp1252, ou laissez la détection choisir")
        return given
    if utf16:
        _decode_or_refuse(data, "utf-16", name, "le fichier s'annonce en UTF-16 mais ne se décode pas")
        return "utf-16"
    if bom:
        _decode_or_refuse(data, "utf-8-sig", name, "le fichier s'annonce en UTF-8 (BOM) mais cet octet n'en est "
                                                   "pas ; réenregistrez-le en UTF-8 ou précisez --encoding")
        return "utf-8-sig"
    for candidate in DETECTED:
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    raise AssertionError("Latin-1 decodes every byte")


def _refuse_binary(data: bytes, name: str) -> None:
    for signature, what in SIGNATURES.items():
        if data.startswith(signature):
            raise SourceError(f"{name} : fichier binaire, {what} ; il faut l'export texte (CSV) du fournisseur")
    head = data[:SNIFF_BYTES]
    nul = head.find(b"\x00")
    if nul >= 0:
        line, column = _position(data, nul, "iso8859-1")
        raise SourceError(f"{name}, ligne {line}, colonne {column} : octet nul, c'est un fichier binaire et non "
                          "un export texte (CSV)")


def _decode_or_refuse(data: bytes, encoding: str, name: str, problem: str) -> None:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        line, column = _position(data, error.start, encoding)
        raise SourceError(f"{name}, ligne {line}, colonne {column} : {problem}") from None


def _position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """Line and column (1-based, in characters) of byte ``offset``."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode(encoding, errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column
