"""Referral rules, checked as properties over every answer set, score, level and date where
that is cheap, plus the named examples the domain spells out (14 on DASH, 3 incidents,
12 months from the last referral date)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marac.conference_types import conference_types, instruments
from marac.errors import RuleViolation
from marac.referrals.rules import ANSWERS, RiskResult, add_months, assess_risk, criteria_met, within_window

DASH = instruments()["dash"]
POLICE = instruments()["dash-police"]
HATE = instruments()["hate-crime"]
DA = conference_types()["domestic-abuse"]
HC = conference_types()["hate-crime"]
LEVELS = tuple(HATE["levels"])

# Answers as people type them: any case, stray spaces, "not_known" from an API client.
spelling = st.sampled_from(ANSWERS).flatmap(
    lambda a: st.sampled_from([a, a.upper(), f" {a.title()} ", a.replace(" ", "_")])
)
dash_answers = st.lists(st.sampled_from(ANSWERS), min_size=24, max_size=24)
hate_answers = st.lists(st.sampled_from(ANSWERS), min_size=len(HATE["questions"]), max_size=len(HATE["questions"]))


def refused(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    return caught.value.fields


def dash(answers=None, score=None, level=None) -> RiskResult:
    return assess_risk(DASH, score=score, level=level, answers=answers, judgement_reason=None)


def met(settings, risk, claimed=(), reason=None, incidents=0, repeat=False) -> list[str]:
    return criteria_met(
        settings, risk, claimed=list(claimed), judgement_reason=reason, incidents_in_window=incidents, is_repeat=repeat
    )


# ---- DASH ---------------------------------------------------------------------------------


def test_the_dash_checklist_has_the_24_questions():
    assert len(DASH["questions"]) == 24
    assert DASH["questions"][0]["key"] == "injury"
    assert DASH["questions"][-1]["key"] == "criminal_history"


@given(st.lists(spelling, min_size=24, max_size=24))
def test_dash_score_is_the_count_of_yes_for_any_answers(answers):
    result = dash(answers)
    assert result.score == sum(a.strip().lower() == "yes" for a in answers)
    assert result.answers == [" ".join(a.replace("_", " ").lower().split()) for a in answers]
    assert result.level is None and result.computed_level is None
    # the same answers keyed by question give the same result
    keyed = {q["key"]: a for q, a in zip(DASH["questions"], answers, strict=True)}
    assert dash(keyed) == result


@given(dash_answers, st.integers(0, 24))
def test_a_sent_score_that_disagrees_with_the_answers_is_always_refused(answers, score):
    yes = answers.count("yes")
    if score == yes:
        assert dash(answers, score=score).score == yes
    else:
        assert f"so the score is {yes}" in refused(dash, answers, score=score)["risk.score"]


@given(st.integers(0, 24))
def test_a_score_alone_is_accepted(score):
    assert dash(score=score) == RiskResult("dash", score, None, None, None, high_risk=14)


@pytest.mark.parametrize("score", [-1, 25, True, "14", 14.0])
def test_a_score_outside_0_to_24_is_refused(score):
    assert "0 to 24" in refused(dash, score=score)["risk.score"]


def test_neither_answers_nor_score_is_refused():
    assert refused(dash)["risk"].startswith("Send answers or a score")
    assert refused(dash, [])["risk"].startswith("Send answers or a score")


def test_bad_answers_name_the_answer_and_what_would_be_accepted():
    assert "send 24 answers" in refused(dash, ["yes"] * 23)["risk.answers"]
    fields = refused(dash, ["yes"] * 3 + ["maybe"] + ["no"] * 19 + [1])
    assert fields == {"risk.answers.3": "Answer yes, no or not known", "risk.answers.23": "Answer yes, no or not known"}
    keyed = {q["key"]: "no" for q in DASH["questions"]}
    assert "unknown: shoe_size" in refused(dash, {**keyed, "shoe_size": "no"})["risk.answers"]
    del keyed["injury"]
    assert "unanswered: injury" in refused(dash, keyed)["risk.answers"]
    assert refused(dash, {**keyed, "injury": "perhaps"}) == {"risk.answers.injury": "Answer yes, no or not known"}


def test_dash_gives_no_level():
    assert "leave the level out" in refused(dash, score=3, level="high")["risk.level"]


# ---- level instruments (hate crime) --------------------------------------------------------


def level_of(yes: int) -> str:
    thresholds = HATE["thresholds"]
    return "high" if yes >= thresholds["high"] else "medium" if yes >= thresholds["medium"] else "low"


@given(hate_answers)
def test_the_computed_level_follows_the_thresholds(answers):
    result = assess_risk(HATE, score=None, level=None, answers=answers, judgement_reason=None)
    assert result.score == answers.count("yes")
    assert result.level == result.computed_level == level_of(answers.count("yes"))


@given(hate_answers, st.sampled_from(LEVELS), st.one_of(st.none(), st.text()))
def test_judgement_never_lowers_a_level(answers, sent, reason):
    computed = level_of(answers.count("yes"))
    if LEVELS.index(sent) >= LEVELS.index(computed):
        return
    fields = refused(assess_risk, HATE, score=None, level=sent, answers=answers, judgement_reason=reason)
    assert fields == {
        "risk.level": f"Professional judgement may raise the level, never lower it: the answers give {computed}"
    }


@given(hate_answers, st.sampled_from(LEVELS), st.sampled_from([None, "", "   "]))
def test_raising_a_level_needs_a_reason(answers, sent, blank):
    computed = level_of(answers.count("yes"))
    if LEVELS.index(sent) <= LEVELS.index(computed):
        return
    fields = refused(assess_risk, HATE, score=None, level=sent, answers=answers, judgement_reason=blank)
    assert f"from {computed} to {sent}" in fields["judgement_reason"]
    result = assess_risk(HATE, score=None, level=sent, answers=answers, judgement_reason="Targeted again last night")
    assert (result.level, result.computed_level) == (sent, computed)


@pytest.mark.parametrize("sent", LEVELS)
def test_a_level_alone_is_the_practitioners_assessment(sent):
    result = assess_risk(HATE, score=None, level=sent.upper(), answers=None, judgement_reason=None)
    assert result == RiskResult("hate-crime", None, sent, None, None, LEVELS, "high")


def test_a_level_instrument_needs_answers_or_a_valid_level():
    def hate(**kw):
        return assess_risk(HATE, **{"score": None, "level": None, "answers": None, "judgement_reason": None, **kw})

    assert refused(hate)["risk"].startswith("Send answers or a level")
    assert refused(hate, level="severe") == {"risk.level": "Choose low, medium or high"}
    assert "gives a level, not a score" in refused(hate, score=3)["risk.score"]


# ---- criteria -------------------------------------------------------------------------------


@given(st.integers(0, 24))
def test_visible_high_risk_iff_the_dash_score_is_14_or_more(score):
    risk = dash(score=score)
    # a detected repeat keeps the result non-empty, so only visible high risk varies
    assert ("visible_high_risk" in met(DA, risk, repeat=True)) == (score >= 14)
    if score >= 14:
        assert met(DA, risk, ["visible_high_risk"]) == ["visible_high_risk"]
    else:
        fields = refused(met, DA, risk, ["visible_high_risk"])
        assert f"scores {score}" in fields["criteria.0"] and "14 or more" in fields["criteria.0"]


@given(st.lists(st.sampled_from(ANSWERS), min_size=27, max_size=27), st.booleans())
def test_the_police_dash_takes_27_answers_or_a_score_and_14_yes_is_high_risk(answers, as_score):
    yes = answers.count("yes")
    risk = assess_risk(
        POLICE,
        score=yes if as_score else None,
        level=None,
        answers=None if as_score else answers,
        judgement_reason=None,
    )
    assert (risk.instrument, risk.score) == ("dash-police", yes)
    assert ("visible_high_risk" in met(DA, risk, repeat=True)) == (yes >= 14)


def test_the_police_dash_refuses_the_partner_checklists_24_answers_and_a_score_above_27():
    assert (
        "send 27 answers"
        in refused(assess_risk, POLICE, score=None, level=None, answers=["no"] * 24, judgement_reason=None)[
            "risk.answers"
        ]
    )
    assert (
        "from 0 to 27"
        in refused(assess_risk, POLICE, score=28, level=None, answers=None, judgement_reason=None)["risk.score"]
    )
    # the police questions on children and dependants are answered by key too
    keyed = {q["key"]: "no" for q in POLICE["questions"]} | {"hurt_children": "yes"}
    assert assess_risk(POLICE, score=None, level=None, answers=keyed, judgement_reason=None).score == 1


def test_a_conference_created_before_instruments_carried_thresholds_keeps_its_own():
    # What an existing conference holds: one instrument without thresholds, min_score in the type.
    legacy_dash = {k: v for k, v in DASH.items() if k != "thresholds"}
    legacy = {
        k: v for k, v in DA.items() if k not in ("instruments", "instrument_definitions", "instrument_definition")
    }
    legacy |= {
        "instrument_definition": legacy_dash,
        "criteria": {**DA["criteria"], "visible_high_risk": {"min_score": 12}},
    }
    risk = assess_risk(legacy_dash, score=12, level=None, answers=None, judgement_reason=None)
    assert met(legacy, risk) == ["visible_high_risk"]
    police = assess_risk(POLICE, score=20, level=None, answers=None, judgement_reason=None)
    assert "assesses risk with dash, not dash-police" in refused(met, legacy, police)["risk"]


@given(st.integers(0, 50))
def test_escalation_iff_3_or_more_incidents(incidents):
    risk = dash(score=0)
    assert ("escalation" in met(DA, risk, incidents=incidents, repeat=True)) == (incidents >= 3)
    if incidents < 3:
        assert (
            "3 or more incidents in 12 months"
            in refused(met, DA, risk, ["escalation"], incidents=incidents)["criteria.0"]
        )


def test_visible_high_risk_by_level_for_hate_crime():
    def level(sent, reason=None):
        return assess_risk(HATE, score=None, level=sent, answers=None, judgement_reason=reason)

    assert met(HC, level("high")) == ["visible_high_risk"]
    assert "level of high or above" in refused(met, HC, level("medium"), ["visible_high_risk"])["criteria.0"]


def test_professional_judgement_must_be_claimed_with_reasons():
    risk = dash(score=9)
    assert met(DA, risk, ["professional_judgement"], reason="Threats since the DASH was done") == [
        "professional_judgement"
    ]
    assert "judgement_reason" in refused(met, DA, risk, ["professional_judgement"], reason="  ")
    # a reason without the claim is not a criterion
    assert "meets no criterion of Domestic abuse MARAC" in refused(met, DA, risk, reason="x")["criteria"]


def test_a_detected_repeat_is_met_unclaimed_and_whatever_the_score():
    assert met(DA, dash(score=0), repeat=True) == ["repeat"]
    assert "none was found" in refused(met, DA, dash(score=0), ["repeat"])["criteria.0"]


def test_criteria_the_type_does_not_accept_are_refused():
    settings = {**DA, "criteria": {k: v for k, v in DA["criteria"].items() if k != "escalation"}}
    fields = refused(met, settings, dash(score=20), ["visible_high_risk", "escalation"], incidents=5)
    assert fields == {
        "criteria": "Domestic abuse MARAC does not accept escalation: choose from "
        "visible_high_risk, professional_judgement, repeat"
    }
    assert (
        "assesses risk with dash"
        in refused(met, DA, assess_risk(HATE, score=None, level="high", answers=None, judgement_reason=None))["risk"]
    )


def test_meeting_nothing_says_what_would_be_accepted():
    message = refused(met, DA, dash(score=13), incidents=2)["criteria"]
    assert message.startswith("This referral meets no criterion of Domestic abuse MARAC")
    for accepted in ("score of 14 or more", "written reasons", "3 or more incidents", "same victim and perpetrator"):
        assert accepted in message


# ---- the 12-month window -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "within"),
    [
        (date(2023, 1, 10), date(2023, 1, 10), True),  # same day
        (date(2023, 1, 10), date(2023, 1, 9), False),  # before the last referral
        (date(2023, 1, 10), date(2024, 1, 10), True),  # day 365: exactly 12 months
        (date(2023, 1, 10), date(2024, 1, 11), False),  # day 366
        (date(2024, 2, 29), date(2025, 2, 28), True),  # 29 Feb + 12 months = 28 Feb
        (date(2024, 2, 29), date(2025, 3, 1), False),
        (date(2023, 3, 1), date(2024, 2, 29), True),  # day 365, inside a leap year
        (date(2023, 3, 1), date(2024, 3, 1), True),  # day 366, but exactly 12 calendar months
        (date(2023, 3, 1), date(2024, 3, 2), False),
    ],
)
def test_within_window_edges(previous, current, within):
    assert within_window(previous, current, 12) is within


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 12, 15), 1) == date(2024, 1, 15)
    assert add_months(date(2024, 1, 15), -1) == date(2023, 12, 15)


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(1, 36))
def test_the_window_ends_exactly_months_later(day, months):
    end = add_months(day, months)
    assert within_window(day, day, months)
    assert within_window(day, end, months)
    assert not within_window(day, end + timedelta(days=1), months)
    assert not within_window(day, day - timedelta(days=1), months)
