"""Referral rules as pure functions: risk instruments, referral criteria, the 12-month window.

No database and no web: the service gathers the facts (incidents in the escalation window,
whether an earlier referral makes this one a repeat) and these functions decide, so every
rule is tested on its own. Instruments and types are the dicts loaded by marac.conference_types.
Every refusal is a RuleViolation whose field messages say what would be accepted.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from marac.conference_types import accepted_instruments, localised, localised_word
from marac.errors import RuleViolation
from marac.i18n import gettext as _
from marac.i18n import ngettext

ANSWERS = ("yes", "no", "not known")
LEVELS = ("low", "medium", "high")  # the scale of a level instrument when a result does not say


@dataclass(frozen=True)
class RiskResult:
    instrument: str  # instrument id, e.g. "dash", "hate-crime"
    score: int | None  # count of yes (DASH always; level instruments only with answers)
    level: str | None  # level instruments: the level used (sent, or computed); DASH: None
    computed_level: str | None  # level instruments: from the answers; None without answers
    answers: list[str] | None  # normalised, in question order
    # The instrument's scale, lowest first, so criteria can rank a level without the instrument.
    levels: tuple[str, ...] = LEVELS
    # The instrument's visible high risk threshold (thresholds.visible_high_risk): a score, or
    # a level. None for results made before instruments carried it: the type's criterion says.
    high_risk: int | str | None = None


def _word(value: object) -> str | None:
    """'Not_Known ' → 'not known'; anything that is not a string → None."""
    if not isinstance(value, str):
        return None
    return " ".join(value.replace("_", " ").lower().split()) or None


def _either(options: tuple[str, ...] | list[str]) -> str:
    options = list(options)
    if len(options) == 1:
        return options[0]
    return _("%(some)s or %(last)s") % {"some": ", ".join(options[:-1]), "last": options[-1]}


def _words(instrument: dict[str, Any], key: str, words: tuple[str, ...] | list[str]) -> list[str]:
    """An instrument's answers or levels as the page's language writes them (the API's: English)."""
    return [localised_word(instrument, key, word) for word in words]


def _answers(instrument: dict[str, Any], answers: list[str] | dict[str, str] | None) -> list[str] | None:
    # An empty list or dict is "no answers": a form with the checklist left blank sends one.
    if not answers:
        return None
    keys = [question["key"] for question in instrument["questions"]]
    allowed = tuple(instrument.get("answers", ANSWERS))
    count = ngettext("%(name)s has %(num)d question", "%(name)s has %(num)d questions", len(keys)) % {
        "name": localised(instrument, "name"),
        "num": len(keys),
    }
    if isinstance(answers, dict):
        unknown = sorted(str(key) for key in answers if key not in keys)
        missing = [key for key in keys if key not in answers]
        if unknown or missing:
            parts = ([_("unknown: %(keys)s") % {"keys": ", ".join(unknown)}] if unknown else []) + (
                [_("unanswered: %(keys)s") % {"keys": ", ".join(missing)}] if missing else []
            )
            raise RuleViolation(
                _("The answers do not match the questions"),
                {
                    "risk.answers": _("%(count)s: answer each of them once (%(problems)s)")
                    % {"count": count, "problems": "; ".join(parts)}
                },
            )
        items: list[tuple[object, object]] = [(key, answers[key]) for key in keys]
    elif isinstance(answers, (list, tuple)):
        if len(answers) != len(keys):
            raise RuleViolation(
                _("The answers do not match the questions"),
                {
                    "risk.answers": _("%(count)s: send %(wanted)d answers in question order, not %(sent)d")
                    % {"count": count, "wanted": len(keys), "sent": len(answers)}
                },
            )
        items = list(enumerate(answers))
    else:
        raise RuleViolation(
            _("The answers are not valid"),
            {"risk.answers": _("Send the answers as a list in question order or keyed by question")},
        )
    errors: dict[str, str] = {}
    normalised: list[str] = []
    for where, value in items:
        word = _word(value)
        if word not in allowed:
            errors[f"risk.answers.{where}"] = _("Answer %(choices)s") % {
                "choices": _either(_words(instrument, "answers", allowed))
            }
        normalised.append(word or "")
    if errors:
        raise RuleViolation(_("Some answers are not valid"), errors)
    return normalised


def _level_from(instrument: dict[str, Any], yes: int) -> str:
    """The highest level whose threshold the count of yes reaches (the lowest needs none)."""
    levels = instrument["levels"]
    reached = levels[0]
    for level in levels[1:]:
        if yes >= instrument["thresholds"][level]:
            reached = level
    return reached


def assess_risk(
    instrument: dict[str, Any],
    *,
    score: int | None,
    level: str | None,
    answers: list[str] | dict[str, str] | None,
    judgement_reason: str | None,
) -> RiskResult:
    """Check a risk assessment against its instrument and return the result to record."""
    name, ident, n = localised(instrument, "name"), instrument["id"], len(instrument["questions"])
    high_risk = instrument.get("thresholds", {}).get("visible_high_risk")
    given = _answers(instrument, answers)
    yes = given.count("yes") if given is not None else None
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= n:
            raise RuleViolation(
                _("The score is not valid"),
                {"risk.score": _("Enter a whole number from 0 to %(num)d: the number of yes answers") % {"num": n}},
            )
        if yes is not None and score != yes:
            # A score that disagrees with its own answers is a typing error either way: refuse.
            raise RuleViolation(
                _("The score does not match the answers"),
                {
                    "risk.score": _(
                        "The answers have %(yes)d yes, so the score is %(yes)d, not %(score)d: "
                        "send %(yes)d or leave the score out"
                    )
                    % {"yes": yes, "score": score}
                },
            )
    # A blank level is no level; a non-string is kept as is, so no level matches it below.
    sent: Any = _word(level) if isinstance(level, str) else level

    if instrument["kind"] == "score":
        if sent is not None:
            raise RuleViolation(
                _("This instrument gives a score"),
                {"risk.level": _("%(name)s gives a score, not a level: leave the level out") % {"name": name}},
            )
        if yes is None and score is None:
            raise RuleViolation(
                _("Send answers or a score"),
                {
                    "risk": _("Send answers or a score: the %(num)d answers of %(name)s, or a score from 0 to %(num)d")
                    % {"num": n, "name": name}
                },
            )
        return RiskResult(ident, yes if yes is not None else score, None, None, given, high_risk=high_risk)

    levels = tuple(instrument["levels"])
    if sent is not None and sent not in levels:
        choices = _either(_words(instrument, "levels", levels))
        raise RuleViolation(_("The level is not valid"), {"risk.level": _("Choose %(choices)s") % {"choices": choices}})
    if yes is None:
        if score is not None:
            raise RuleViolation(
                _("This instrument gives a level"),
                {"risk.score": _("%(name)s gives a level, not a score: send the answers or a level") % {"name": name}},
            )
        if sent is None:
            raise RuleViolation(
                _("Send answers or a level"),
                {
                    "risk": _("Send answers or a level: the %(num)d answers of %(name)s, or %(choices)s")
                    % {"num": n, "name": name, "choices": _either(_words(instrument, "levels", levels))}
                },
            )
        # No answers: the level is the practitioner's own assessment, nothing to compare with.
        return RiskResult(ident, None, sent, None, None, levels, high_risk)
    computed = _level_from(instrument, yes)
    if sent is None:
        return RiskResult(ident, yes, computed, computed, given, levels, high_risk)
    if levels.index(sent) < levels.index(computed):
        raise RuleViolation(
            _("Professional judgement cannot lower the level"),
            {
                "risk.level": _(
                    "Professional judgement may raise the level, never lower it: the answers give %(level)s"
                )
                % {"level": localised_word(instrument, "levels", computed)}
            },
        )
    if levels.index(sent) > levels.index(computed) and not (judgement_reason or "").strip():
        raise RuleViolation(
            _("Raising the level needs reasons"),
            {
                "judgement_reason": _("Write why your professional judgement raises the level from %(was)s to %(now)s")
                % {
                    "was": localised_word(instrument, "levels", computed),
                    "now": localised_word(instrument, "levels", sent),
                }
            },
        )
    return RiskResult(ident, yes, sent, computed, given, levels, high_risk)


def add_months(day: date, months: int) -> date:
    """Calendar months later (or earlier, if negative); a day the month lacks becomes its last day
    (31 Jan + 1 month = 28/29 Feb, 29 Feb 2024 + 12 months = 28 Feb 2025)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def within_window(previous: date, current: date, months: int) -> bool:
    """Whether `current` falls within `months` calendar months of `previous`, both ends included.

    The same day is within; exactly 12 months later is within (day 365 after a date in a
    span with no 29 February, day 366 when the span crosses one: 2023-03-01 → 2024-03-01);
    the next day is outside. A date before `previous` is never within.
    """
    return previous <= current <= add_months(previous, months)


def _high_risk(type_settings: dict[str, Any], risk: RiskResult | None) -> int | str:
    """The visible high risk threshold: the instrument's (its file's thresholds.visible_high_risk),
    or for a conference created before instruments carried one, the type's min_score / min_level."""
    if risk is not None and risk.high_risk is not None:
        return risk.high_risk
    rule = type_settings["criteria"]["visible_high_risk"]
    if "min_score" in rule or "min_level" in rule:
        return rule.get("min_score", rule.get("min_level"))
    return next(iter(accepted_instruments(type_settings).values()))["thresholds"]["visible_high_risk"]


def _high_risk_text(threshold: int | str) -> str:
    if isinstance(threshold, int):
        return _("a risk score of %(score)d or more") % {"score": threshold}
    return _("a risk level of %(level)s or above") % {"level": localised_word({}, "levels", threshold)}


def _accepts(type_settings: dict[str, Any], risk: RiskResult | None = None) -> dict[str, str]:
    """Each accepted criterion described as what a referral needs to meet it."""
    criteria = type_settings["criteria"]
    repeat = type_settings["repeat"]
    out: dict[str, str] = {}
    if "visible_high_risk" in criteria:
        out["visible_high_risk"] = _high_risk_text(_high_risk(type_settings, risk))
    if "professional_judgement" in criteria:
        out["professional_judgement"] = _("professional judgement with written reasons")
    if "escalation" in criteria:
        rule = criteria["escalation"]
        out["escalation"] = _("%(incidents)d or more incidents in %(months)d months") % {
            "incidents": rule["incidents"],
            "months": rule["window_months"],
        }
    if "repeat" in criteria:
        matched = {"victim": _("victim"), "perpetrator": _("perpetrator"), "location": _("location")}
        out["repeat"] = _(
            "a further incident within %(months)d months of the last referral of the same %(matched)s"
        ) % {
            "months": repeat["window_months"],
            "matched": _(" and ").join(matched.get(part, part) for part in repeat["match"]),
        }
    return out


def _shortfall(
    type_settings: dict[str, Any], criterion: str, risk: RiskResult, incidents_in_window: int, is_repeat: bool
) -> str | None:
    """Why a criterion other than professional judgement is not met; None when it is met."""
    rule = type_settings["criteria"][criterion]
    if criterion == "visible_high_risk":
        threshold = _high_risk(type_settings, risk)
        if isinstance(threshold, int):
            if risk.score is not None and risk.score >= threshold:
                return None
            return _(
                "Visible high risk needs a risk score of %(threshold)d or more; this referral scores %(score)s"
            ) % {
                "threshold": threshold,
                "score": risk.score,
            }
        levels = risk.levels
        if risk.level in levels and threshold in levels and levels.index(risk.level) >= levels.index(threshold):
            return None
        return _("Visible high risk needs a risk level of %(threshold)s or above; this referral is %(level)s") % {
            "threshold": localised_word({}, "levels", str(threshold)),
            "level": localised_word({}, "levels", str(risk.level)),
        }
    if criterion == "escalation":
        if incidents_in_window >= rule["incidents"]:
            return None
        return _(
            "Potential escalation needs %(incidents)d or more incidents in %(months)d months; %(found)d recorded"
        ) % {
            "incidents": rule["incidents"],
            "months": rule["window_months"],
            "found": incidents_in_window,
        }
    if criterion == "repeat":
        return (
            None
            if is_repeat
            else _("A repeat needs %(what)s; none was found") % {"what": _accepts(type_settings)["repeat"]}
        )
    raise ValueError(f"no rule for criterion {criterion!r}")  # the loader admits no other names


def criteria_met(
    type_settings: dict[str, Any],
    risk: RiskResult,
    *,
    claimed: list[str],
    judgement_reason: str | None,
    incidents_in_window: int,
    is_repeat: bool,
) -> list[str]:
    """The referral criteria of the type that this referral meets, sorted; refuses bad claims.

    `incidents_in_window` counts incidents within criteria.escalation.window_months; `is_repeat`
    says an earlier referral matching repeat.match lies within repeat.window_months of this
    referral's date (see within_window). Criteria are met whether claimed or not (a detected
    repeat counts unclaimed), except professional judgement, which must be claimed.
    """
    name = localised(type_settings, "name")
    accepts = _accepts(type_settings, risk)
    reason = (judgement_reason or "").strip()
    errors: dict[str, str] = {}

    accepted = accepted_instruments(type_settings)
    if risk.instrument not in accepted:
        raise RuleViolation(
            _("The risk assessment uses the wrong instrument"),
            {
                "risk": _("%(name)s assesses risk with %(accepted)s, not %(sent)s")
                % {"name": name, "accepted": _either(list(accepted)), "sent": risk.instrument}
            },
        )
    unknown = [str(c) for c in claimed if not isinstance(c, str) or c not in accepts]
    if unknown:
        errors["criteria"] = _("%(name)s does not accept %(unknown)s: choose from %(accepted)s") % {
            "name": name,
            "unknown": ", ".join(unknown),
            "accepted": ", ".join(accepts),
        }

    met = {
        c
        for c in accepts
        if c != "professional_judgement" and _shortfall(type_settings, c, risk, incidents_in_window, is_repeat) is None
    }
    if "professional_judgement" in claimed and "professional_judgement" in accepts:
        if reason or not type_settings["criteria"]["professional_judgement"].get("requires_reason", True):
            met.add("professional_judgement")
        else:
            errors["judgement_reason"] = _(
                "Write the reasons for your professional judgement: a referral on judgement needs them"
            )

    for index, criterion in enumerate(claimed):
        if (
            isinstance(criterion, str)
            and criterion in accepts
            and criterion not in met
            and criterion != "professional_judgement"
        ):
            why = _shortfall(type_settings, criterion, risk, incidents_in_window, is_repeat)
            others = [text for key, text in accepts.items() if key != criterion]
            also = _("%(name)s also accepts %(others)s") % {"name": name, "others": _either(others)}
            errors[f"criteria.{index}"] = f"{why}. {also}" if others else f"{why}"
    if errors:
        raise RuleViolation(_("The referral criteria claimed are not met"), errors)
    if not met:
        raise RuleViolation(
            _("This referral meets no referral criterion"),
            {
                "criteria": _("This referral meets no criterion of %(name)s: it needs %(needs)s")
                % {"name": name, "needs": _either(list(accepts.values()))}
            },
        )
    return sorted(met)
