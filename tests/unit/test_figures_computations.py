"""The computations behind the new indicators: delay bands and median, the CMP binôme's
activity read from its forms' counted answers, the commune list's mapping of typed names."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.figures import catalogue
from engine.figures import service as figures
from engine.situations import communes


@given(st.lists(st.integers(min_value=0, max_value=2000), min_size=10, max_size=60))
def test_the_median_delay_is_the_median_of_the_hours_rounded_down(hours):
    counts: dict[str, int] = {}
    for h in hours:
        counts[str(h)] = counts.get(str(h), 0) + 1
    bands, median = figures._delays(counts, threshold=10)
    assert median is not None and not median.suppressed
    assert median.count == int(statistics.median(hours))  # .5 rounded down
    assert sum(bands.values()) == len(hours)
    assert bands.get("moins_24h", 0) == sum(1 for h in hours if h < 24)
    assert bands.get("plus_7j", 0) == sum(1 for h in hours if h >= 168)


def test_a_median_of_fewer_delays_than_the_threshold_is_hidden():
    _bands, median = figures._delays({"5": 3, "100": 6}, threshold=10)
    assert median is not None and median.suppressed and median.count is None
    assert median.shown(10) == "< 10"
    assert figures._delays({}, threshold=10) == ({}, None)


@pytest.mark.parametrize(("form", "stats", "codes"), [
    ("cmp_orientation", [("arrivee", "police"), ("binome_cmp", "non")], ["orientation_recue"]),
    ("cmp_orientation", [("binome_cmp", "oui")], ["orientation_recue",
                                                  "urgence_psychiatrique"]),
    ("cmp_volet_social.json", [("connu_services_sociaux", "oui")], ["entretien_commun"]),
    ("cmp_signature_is", [("binome_cmp", "suivi_cmp"), ("binome_cmp", "accord")],
     ["orientation_cmp"]),
    ("cmp_signature_is", [("binome_cmp", "services_sociaux"), ("binome_cmp", "accord")],
     ["orientation_autre"]),
    ("cmp_signature_is", [("binome_cmp", "aucune"), ("binome_cmp", "accord")],
     ["sans_orientation"]),
    ("cmp_signature_is", [("binome_cmp", "suivi_cmp"), ("binome_cmp", "desaccord")], []),
    ("vc_fiche", [("binome_cmp", "oui")], []),
    (None, [], []),
])
def test_the_binome_activity_is_read_from_its_forms(form, stats, codes):
    assert catalogue.binome_activity(form, stats) == codes


@pytest.mark.parametrize(("typed", "code"), [
    ("Trappes", "78621"), ("trappes", "78621"), ("  LA VERRIERE ", "78644"),
    ("la-verrière", "78644"), ("Elancourt", "78208"), ("78490", "78490"),
    ("hors du territoire", "hors_territoire"), ("Paris", None), ("", None),
    ("Trappes; DROP TABLE", None)])
def test_a_typed_commune_is_mapped_to_the_list_or_refused(typed, code):
    assert communes.code_of(typed) == code


def test_every_commune_of_the_list_is_a_value_of_the_commune_indicator():
    indicator = catalogue.BY_ID["commune"]
    assert set(communes.CHOICES) | {"non_renseignee"} == set(indicator.values)
    assert all(len(code) == 5 and code.startswith("78") for code in communes.COMMUNES)
