"""One catalogue of words: every hazard has one name per language, used by the pages
(the same JSON they load), the notices and the console (issue 16)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from alerts.model import Alert, AlertStatus, Facts, ReportCategory
from alerts.notify.messages import render
from alerts.notify.types import Notice, NoticeType
from alerts.rules.types import Hazard, Severity
from alerts.system import SystemHazard
from alerts.words import CATALOGUE, LANGUAGES, UNITS, hazard_name, value_unit, word
from api.routes.overview import words as words_route

HAZARDS = sorted({*(h.value for h in Hazard), *(c.value for c in ReportCategory),
                  *(s.value for s in SystemHazard), "device_retired"})


def test_both_languages_have_the_same_keys_and_no_empty_word():
    zh, en = CATALOGUE["zh"], CATALOGUE["en"]
    assert set(zh) == set(en)
    assert [k for k in zh if not zh[k].strip() or not en[k].strip()] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_hazard_kind_has_one_name_per_language_and_names_differ(lang):
    names = {h: CATALOGUE[lang].get(f"h_{h}") for h in HAZARDS}
    assert [h for h, n in names.items() if not n] == []
    assert len(set(names.values())) == len(names), "two hazards share a name"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("hazard", HAZARDS)
def test_a_notice_names_the_hazard_as_the_pages_do(hazard, lang):
    a = Alert(id=5, key=f"d1:{hazard}", hazard=hazard, severity=Severity.WARNING, status=AlertStatus.RAISED,
              active=True, place_id="b1-u1-101", grid_id="g1", device_id="d1", assignee=None,
              raised_at=1_790_000_000.0, updated_at=1_790_000_000.0,
              value=12.0, facts=Facts(address="1号楼 101室", address_en="Building 1, 101"))
    title, body = render(Notice(a, NoticeType.ALARM, (), 0.0), language=lang)
    assert hazard_name(hazard, lang) in title and hazard_name(hazard, lang) in body
    assert word("n_alarm", lang) in title and word("sev_warning", lang) in title
    unit = value_unit(hazard)
    assert f"12 {unit}".strip() in body


def test_the_console_names_the_hazard_as_the_pages_do():
    from gridwatch.console import alert_line

    a = Alert(id=27, key="gas-1:unprotected", hazard="unprotected", severity=Severity.CRITICAL,
              status=AlertStatus.RAISED, active=True, place_id="b1-u1-101", grid_id="g1",
              device_id="gas-1", raised_at=0.0, updated_at=0.0,
              assignee="w-g1", facts=Facts(address="1号楼 101室"))
    rt = SimpleNamespace(index=SimpleNamespace(workers={}))
    line = alert_line(rt, SimpleNamespace(alert=a))  # type: ignore[arg-type]
    assert hazard_name("unprotected") in line and "紧急" in line and "#27" in line


def test_the_pages_load_the_same_file():
    served = json.loads(words_route().body)
    on_disk = json.loads((Path(__file__).resolve().parents[3] / "alerts/words/words.json").read_text("utf-8"))
    assert served == on_disk == CATALOGUE


def test_units_cover_every_hazard_with_a_value_field():
    assert set(CATALOGUE["hazard_field"].values()) <= set(UNITS)
    assert value_unit("gas") == "%LEL" and value_unit("co") == "ppm" and value_unit("water_leak") == ""


def test_a_missing_word_shows_its_key_and_english_falls_back_to_chinese(monkeypatch):
    assert word("no-such-key", "en") == "no-such-key"
    monkeypatch.setitem(CATALOGUE["zh"], "only_zh", "只有中文")
    assert word("only_zh", "en") == "只有中文"
    assert word("h_gas", "fr") == CATALOGUE["zh"]["h_gas"]


def test_every_api_error_code_has_words_and_a_refused_resolve_has_its_own_code():
    from alerts.lifecycle import LifecycleError, act
    from api.errors import _CODES

    api_dir = Path(__file__).resolve().parents[3] / "api"
    raised = {m for f in api_dir.rglob("*.py") for m in re.findall(r'code="([a-z_]+)"', f.read_text("utf-8"))}
    codes = {*_CODES.values(), *raised, "internal_error", "hazard_still_present"}
    assert sorted(c for c in codes if f"e_{c}" not in CATALOGUE["zh"] or f"e_{c}" not in CATALOGUE["en"]) == []
    a = Alert(id=1, key="gas-1:gas", hazard="gas", severity=Severity.CRITICAL, status=AlertStatus.ON_SITE,
              active=True, place_id="b1-u1-101", grid_id="g1", device_id="gas-1", assignee="w-g1",
              raised_at=0.0, updated_at=0.0)
    with pytest.raises(LifecycleError) as refused:
        act(a, "resolve", actor="w-g1", now=1.0)
    assert refused.value.code == "hazard_still_present"
    with pytest.raises(LifecycleError) as wrong:
        act(a, "acknowledge", actor="w-g1", now=1.0)
    assert wrong.value.code == "conflict"
