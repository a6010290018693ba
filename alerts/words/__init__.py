"""The one catalogue of words, in Chinese and English, for the web pages, the notices
and the console: ``words.json`` beside this module (the pages fetch the same file from
``GET /api/words``).

Layer: pure core (reads one packaged file at import; no network, no clock).

Keys: ``h_<hazard>`` hazard names, ``k_<kind>`` device kinds, ``sev_<severity>``,
``n_<notice type>``, ``adv_<hazard>`` what to do, ``m_*`` notice lines, ``f_<field>``
reading names, ``e_<code>`` API error codes, ``au_<action>`` audit actions, and the
pages' own words. ``units`` maps a reading field to its unit, ``hazard_field`` a
hazard to the field its value is in.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")


def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("words.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


CATALOGUE: dict[str, Any] = _load()
UNITS: dict[str, str] = CATALOGUE["units"]
HAZARD_FIELD: dict[str, str] = CATALOGUE["hazard_field"]


def word(key: str, language: str = "zh") -> str:
    """The word for ``key`` in ``language`` (Chinese when the language lacks it; the key
    itself when neither has it, so a missing word shows instead of failing)."""
    table: dict[str, str] = CATALOGUE.get(language if language in LANGUAGES else "zh", {})
    return table.get(key) or CATALOGUE["zh"].get(key) or key


def hazard_name(hazard: str, language: str = "zh") -> str:
    """A hazard's name, the same on the pages, in notices and on the console."""
    return word(f"h_{hazard}", language)


def value_unit(hazard: str) -> str:
    """The unit of an alert's value for this hazard (empty when it has none)."""
    field = HAZARD_FIELD.get(hazard)
    return UNITS.get(field, "") if field else ""


__all__ = ["CATALOGUE", "HAZARD_FIELD", "LANGUAGES", "UNITS", "hazard_name", "value_unit", "word"]
