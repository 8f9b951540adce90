"""The shell shared by the four public dashboards: live (widgets) or snapshot (static HTML).

A dashboard module gives :func:`show_dashboard` its controls and a ``render`` function; this
module adds the language switch, redraws the page on every change and turns errors into a
plain notice for citizens (never a traceback, never data that is not public).

``controls`` is either a dict ``name -> ipywidgets control`` (each with a French
``description``), or a function ``controls(lang) -> dict`` that builds them in the page's
language; with a function, switching the language rebuilds the controls in that language and
keeps the values chosen so far. ``render(lang=..., **values) -> str`` returns the page's HTML
(from :func:`occidata.dashboards.render.page`), ``values`` being each control's value by name.

A snapshot is displayed as a sanctioned output (:func:`occidata.privacy.publish.publishable`):
the page's HTML with the declaration of every table that ``render`` wrote through
:func:`occidata.dashboards.render.html_table` (each map and chart sits beside a table of the same
values), which the publication gate re-checks before a snapshot is served.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

import pandas as pd
from IPython.display import display

from ..privacy.publish import declaring, publishable
from ..reports.summary import SUMMARY_ENV, record_summary
from . import BY_SLUG
from .data import Lazy
from .explorer import METADATA, StaticViews, form_html, view_key, with_form
from .render import escape, notice, page, split_top

__all__ = ["show_dashboard", "build_dashboard", "render_safely", "snapshot_note", "LANGUAGES"]

LANGUAGES = (("Français", "fr"), ("English", "en"))
LOCAL_TZ = "Europe/Paris"

_NOT_PUBLIC = {
    "fr": "Ces données ne sont pas publiques : elles ne peuvent pas être affichées sur ce tableau de bord.",
    "en": "These data are not public: they cannot be shown on this dashboard.",
}
_UNAVAILABLE = {
    "fr": "Données indisponibles pour le moment. Merci de réessayer plus tard.",
    "en": "Data unavailable for the moment. Please try again later.",
}

Controls = Mapping | Callable[[str], Mapping]


def _title(slug: str, lang: str) -> str:
    dashboard = BY_SLUG.get(slug)
    if dashboard is None:  # a dashboard a site added to its apps folder, outside the registry
        return slug
    return dashboard.title_fr if lang == "fr" else dashboard.title_en


def error_page(slug: str, lang: str, error: BaseException) -> str:
    """The page shown instead of the dashboard when ``error`` happened: a notice, no data.

    A non-public entry gets "Ces données ne sont pas publiques…"; any other error gets
    "Données indisponibles pour le moment…" and its text goes to stderr for the operators.
    """
    if isinstance(error, PermissionError):  # NotPublicError, or the catalogue refusing the kernel
        message = _NOT_PUBLIC[lang]
        print(f"occidata.dashboards[{slug}]: refused: {error}", file=sys.stderr)
    else:
        message = _UNAVAILABLE[lang]
        print(f"occidata.dashboards[{slug}]: {type(error).__name__}: {error}", file=sys.stderr)
    return page(notice(message, "error"), lang=lang, title=_title(slug, lang))


def render_safely(slug: str, render: Callable[..., str], lang: str, values: Mapping) -> str:
    """``render(lang=lang, **values)``, or the error page when it raises."""
    try:
        return render(lang=lang, **values)
    except Exception as error:  # noqa: BLE001 - citizens get a notice, operators the log line
        return error_page(slug, lang, error)


def snapshot_note(lang: str, when: pd.Timestamp | None = None) -> str:
    """"Instantané du <date> à <heure>" (English: "Snapshot of …"), as an HTML paragraph."""
    when = pd.Timestamp.now(tz=LOCAL_TZ) if when is None else pd.Timestamp(when)
    text = (f"Instantané du {when:%d/%m/%Y} à {when:%H:%M}" if lang == "fr"
            else f"Snapshot of {when:%Y-%m-%d} at {when:%H:%M}")
    return f'<p class="od-snapshot">{escape(text)}</p>'


def _with_note(html: str, note: str) -> str:
    """``note`` placed just after the page's ``<h1>`` (or first when there is none)."""
    if "</h1>" in html:
        return html.replace("</h1>", "</h1>" + note, 1)
    return note + html


def _build_controls(controls: Controls, lang: str) -> dict:
    built = dict(controls(lang) if callable(controls) else controls)
    for control in built.values():
        style = getattr(control, "style", None)
        if style is not None and hasattr(style, "description_width"):
            style.description_width = "initial"  # never cut the label short
    return built


def _values(built: Mapping) -> dict:
    return {name: control.value for name, control in built.items()}


def _snapshot_values(controls: Controls, defaults: Mapping | None, lang: str) -> dict:
    """The values a snapshot renders with: ``defaults`` when given (no widget is created, so the
    saved notebook carries no widget state), else the controls' initial values."""
    if defaults is not None:
        return dict(defaults)
    built = _build_controls(controls, lang)
    values = _values(built)
    for control in built.values():
        control.close()
    return values


def _snapshot(slug: str, controls: Controls, render: Callable[..., str], lang: str,
              defaults: Mapping | None) -> tuple[str, list[dict]]:
    """The snapshot's HTML and the tables it declares (those ``render`` wrote; none on the notice)."""
    with declaring() as tables:
        try:
            values = _snapshot_values(controls, defaults, lang)
            html = render(lang=lang, **values)
        except Exception as error:  # noqa: BLE001 - citizens get a notice, operators the log line
            html = error_page(slug, lang, error)
            tables.clear()  # the notice shows none of the tables written before the error
    return _with_note(html, snapshot_note(lang)), list(tables)


def _static_views(slug: str, static: Callable[[str], StaticViews] | None, lang: str) -> StaticViews | None:
    if static is None:
        return None
    try:
        return static(lang)
    except Exception as error:  # noqa: BLE001 - the default view alone is still a page
        print(f"occidata.dashboards[{slug}]: no static views: {type(error).__name__}: {error}", file=sys.stderr)
        return None


def snapshot_views(slug: str, controls: Controls, render: Callable[..., str], lang: str,
                   defaults: Mapping | None, static: Callable[[str], StaticViews] | None = None) -> list[tuple]:
    """The outputs of a snapshot: ``(html, tables, values)`` for the default view, then (when the
    dashboard declares ``static`` views) for every other view of its static page, each with the
    form of its controls under the page's top; ``values`` (name -> option key) is None without
    ``static``. A view other than the default that fails is left out (logged to stderr)."""
    views = _static_views(slug, static, lang)
    if views is None:
        return [(*_snapshot(slug, controls, render, lang, defaults), None)]
    note = snapshot_note(lang)
    outputs = []
    for position, combo in enumerate(views.keys()):
        with declaring() as tables:
            try:
                html = with_form(render(lang=lang, **views.values(combo)), form_html(views.choices, combo, lang))
            except Exception as error:  # noqa: BLE001 - citizens get a notice, operators the log line
                if position:
                    print(f"occidata.dashboards[{slug}]: view {view_key(combo)}: {type(error).__name__}: {error}",
                          file=sys.stderr)
                    continue
                html = error_page(slug, lang, error)
                tables.clear()
        outputs.append((_with_note(html, note), list(tables), combo))
        if position == 0 and not tables:  # the notice: no other view would fare better
            break
    return outputs


def _display_snapshot(slug: str, outputs: list[tuple]) -> None:
    """Each view as a sanctioned output; the first is the snapshot's page, the others are marked
    ``alternative`` (kept out of the report's HTML, served by the static explorer)."""
    for position, (html, tables, combo) in enumerate(outputs):
        try:
            shown = publishable(html, tables)
        except ValueError as refused:
            if not position:
                raise
            print(f"occidata.dashboards[{slug}]: view {view_key(combo)} left out: {refused}", file=sys.stderr)
            continue
        if combo is None:
            display(shown)
        else:
            display(shown, metadata={METADATA: {"values": dict(combo), "default": not position,
                                                "alternative": bool(position)}})


def _html_output(html: str) -> tuple:
    return ({"output_type": "display_data", "data": {"text/html": html, "text/plain": "<page>"},
             "metadata": {}},)


class _LiveDashboard:
    """The live page: the page's top (title, banner, date, headline), the language switch, the
    controls, and the rest of the page, redrawn on every change."""

    def __init__(self, slug: str, controls: Controls, render: Callable[..., str], lang: str):
        import ipywidgets as widgets

        self.slug, self.controls_source, self.render = slug, controls, render
        self.widgets = widgets
        self.language = widgets.ToggleButtons(options=LANGUAGES, value=lang, description="Langue / Language",
                                              style={"description_width": "initial"})
        self.box = widgets.Box(layout=widgets.Layout(display="flex", flex_flow="row wrap",
                                                     align_items="center", width="100%"))
        # What matters first (title, banner, date, headline) sits above the controls.
        self.top = widgets.Output(layout=widgets.Layout(width="100%"))
        self.output = widgets.Output(layout=widgets.Layout(width="100%"))
        self.container = widgets.VBox([self.top, self.language, self.box, self.output],
                                      layout=widgets.Layout(width="100%", max_width="980px"))
        self.controls: dict = {}
        self.failure: Exception | None = None  # why the controls could not be built, if they could not
        self.language.observe(self._on_language, names="value")
        self._set_controls(lang, keep={})
        self.refresh()

    @property
    def lang(self) -> str:
        return self.language.value

    def _set_controls(self, lang: str, keep: Mapping) -> None:
        try:
            built = _build_controls(self.controls_source, lang)
        except Exception as error:  # noqa: BLE001 - shown as a notice by refresh()
            self.controls, self.box.children, self.failure = {}, (), error
            return
        self.failure = None
        for name, control in built.items():
            if name in keep:
                try:
                    control.value = keep[name]
                except Exception:  # noqa: BLE001 - a value the new control does not offer
                    pass
            control.observe(self._on_change, names="value")
        self.controls = built
        self.box.children = tuple(built.values())

    def _on_language(self, change) -> None:
        if callable(self.controls_source):
            old = self.controls
            for control in old.values():
                control.unobserve(self._on_change, names="value")
            self._set_controls(change["new"], keep=_values(old))
        self.refresh()

    def _on_change(self, _change) -> None:
        self.refresh()

    def refresh(self) -> str:
        """Render the page for the current language and values: its top into the Output above the
        controls, the rest into the one below; returns the whole page's HTML."""
        if self.failure is not None:
            html = error_page(self.slug, self.lang, self.failure)
        else:
            html = render_safely(self.slug, self.render, self.lang, _values(self.controls))
        top, rest = split_top(html)
        self.top.outputs = _html_output(top) if top else ()
        self.output.outputs = _html_output(rest)
        return html


def _check_language(lang: str) -> None:
    if lang not in ("fr", "en"):
        raise ValueError(f"lang={lang!r}; use fr or en")


def build_dashboard(slug: str, controls: Controls, render: Callable[..., str], *, lang: str = "fr",
                    snapshot: bool = False, defaults: Mapping | None = None):
    """What :func:`show_dashboard` displays, without displaying it: the live ``VBox`` (its
    ``.dashboard`` attribute gives ``refresh()``, ``top``, ``language``, ``controls`` and ``output``), or the
    snapshot's HTML string."""
    _check_language(lang)
    if snapshot:
        return _snapshot(slug, controls, render, lang, defaults)[0]
    live = _LiveDashboard(slug, controls, render, lang)
    live.container.dashboard = live
    return live.container


def show_dashboard(slug: str, controls: Controls, render: Callable[..., str], *, lang: str = "fr",
                   snapshot: bool = False, defaults: Mapping | None = None,
                   static: Callable[[str], StaticViews] | None = None) -> None:
    """Display dashboard ``slug`` (its title comes from ``occidata.dashboards.BY_SLUG``, else it
    is the slug itself); returns None, so
    that a notebook cell ending with it shows the page once.

    Live (``snapshot=False``): the top of the page (title, banner, date, headline: see
    :func:`occidata.dashboards.render.split_top`), a language switch "Langue / Language", the
    controls in a wrapping box and the rest of the page, both redrawn by ``render`` on every change.
    Snapshot: no widget at all; displays the HTML of ``render`` with the controls' default
    values and a note "Instantané du <date heure>", as a sanctioned output declaring its tables
    (the publication gate refuses any other). ``defaults`` (optional, name -> value) gives
    the snapshot's values without creating any widget: pass it, with ``controls`` as a function,
    so that a snapshot notebook carries no widget state at all. ``static(lang)`` (optional) gives
    the controls and views of the static page (:class:`occidata.dashboards.explorer.StaticViews`):
    the snapshot then renders every one of them (see :func:`snapshot_views`).
    """
    if snapshot:
        _check_language(lang)
        _display_snapshot(slug, snapshot_views(slug, controls, render, lang, defaults, static))
    else:
        display(build_dashboard(slug, controls, render, lang=lang, defaults=defaults))
    if snapshot and os.environ.get(SUMMARY_ENV):
        # A scheduled snapshot: leave the datasets read (and refused) for the publication gate.
        record_summary({"dashboard": slug, "lang": lang})


def show_with_data(slug: str, load: Callable[[], object], view: Callable[..., str], controls: Callable,
                   defaults: Callable[[object], Mapping], *, lang: str = "fr", snapshot: bool = False,
                   static: Callable[[object, str], StaticViews] | None = None) -> None:
    """:func:`show_dashboard` for a dashboard made of ``load() -> data``, ``view(data, lang=, **values)``,
    ``controls(data, lang) -> dict`` and ``defaults(data) -> dict``.

    The data are loaded once, at first need, inside ``render``: a loading failure becomes the
    page's notice (and is tried again at the next change) instead of a failed cell.
    """
    data = Lazy(load)

    def render(lang: str = "fr", **values) -> str:
        return view(data(), lang=lang, **values)

    try:
        opening = defaults(data())
    except Exception:  # noqa: BLE001 - the layout shows the notice when render fails the same way
        opening = {}
    show_dashboard(slug, lambda lang: controls(data(), lang), render, lang=lang, snapshot=snapshot,
                   defaults=opening, static=None if static is None else lambda lang: static(data(), lang))


def show_with_map(slug: str, load: Callable[[], object], view: Callable[..., str], controls: Callable,
                  defaults: Mapping, *, lang: str = "fr", snapshot: bool = False,
                  static: Callable[[object, str], StaticViews] | None = None) -> None:
    """:func:`show_dashboard` for a dashboard whose ``view(data, lang=, shapes=, tiles_url=, **values)``
    draws a map from the configured department shapes and tile server, and whose
    ``controls(data_source, lang)`` reads the data through the callable ``data_source``.

    Data, shapes and tile server are read once, at first need; ``defaults`` are the snapshot's values.
    """
    from . import geo

    data = Lazy(load)
    places = Lazy(lambda: (geo.department_shapes(), geo.tiles_url()))

    def render(lang: str = "fr", **values) -> str:
        shapes, tiles_url = places()
        return view(data(), lang=lang, shapes=shapes, tiles_url=tiles_url, **values)

    show_dashboard(slug, lambda lang: controls(data, lang), render, lang=lang, snapshot=snapshot,
                   defaults=defaults, static=None if static is None else lambda lang: static(data(), lang))
