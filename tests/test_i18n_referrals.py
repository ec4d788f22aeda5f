"""Referrals in Welsh (README, "Languages"): the form with its checklist's Welsh questions from the
instrument file, its errors, the referral page and the list; and the Welsh labels of the type and
instrument files (agendas/README.md, "Welsh"): every shipped label has one, the loader lists each
one missing, and a conference made before the files had them finds them."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date

import pytest

from marac import check, conference_types, i18n
from marac.agencies.models import Conference
from marac.conference_types import ConferenceTypeError, instruments, missing_welsh
from marac.referrals.models import Referral
from tests.conftest import CONFERENCE, csrf_token, make_referral, session_cookie_for
from tests.flows import run_jobs
from tests.test_history import JANE, csv_text

FORM = f"/referrals/new?conference={CONFERENCE}"


def text_of(page) -> str:
    return html.unescape(page.text)


async def test_the_idva_fills_the_form_in_welsh_with_the_dash_files_welsh_questions(client, personas):
    client.cookies.update(await session_cookie_for(personas["idva"]))
    page = await client.get(f"{FORM}&lang=cy")
    shown = text_of(page)
    assert page.status_code == 200 and '<html lang="cy"' in page.text
    assert "Gwneud atgyfeiriad" in shown and "Make a referral" not in shown
    dash = instruments()["dash"]
    # The questions, their groups and the answers come from the instrument file's Welsh.
    assert "2. " + dash["questions"][1]["text_cy"] in shown
    assert "2. Ydych chi'n ofnus iawn?" in shown and "Are you very frightened?" not in shown
    assert "Y sefyllfa bresennol" in shown and "Hanes trais domestig" in shown
    assert dash["name_cy"] in shown and ">Ie</label>" in shown and ">Ddim yn gwybod</label>" in shown
    assert "Risg uchel amlwg" in shown and "Barn broffesiynol" in shown
    # A Welsh plural: the other checklist offered, with its count of questions.
    assert "Defnyddio Rhestr wirio adnabod risg DASH yr heddlu (2009) (27 cwestiwn)" in shown
    # The values sent stay the file's own: the answers are still "yes", "no", "not known".
    assert 'value="not known"' in page.text

    answer = await client.post(
        FORM,
        data={
            "csrf_token": await csrf_token(client, FORM),
            "action": "send",
            "victim.name": "Jane Doe",
            "victim.address.line1": "1 High Street",
            "victim.address.postcode": "nonsense",
            "received_at": "02/11/2026",
        },
    )
    refused = text_of(answer)
    assert answer.status_code == 400 and '<html lang="cy"' in answer.text
    assert "Mae problem wedi codi" in refused
    assert "Dioddefwr: cod post y cyfeiriad: Rhowch god post yn y DU, er enghraifft SW1A 1AA" in refused
    assert "Meini prawf atgyfeirio: Dewiswch o leiaf un" in refused
    assert "Enter a UK postcode" not in refused and 'value="Jane Doe"' in answer.text
    assert await Referral.all().count() == 0


async def test_a_welsh_criterion_refusal_names_the_welsh_threshold(client, personas):
    client.cookies.update(await session_cookie_for(personas["idva"]))
    page = await client.get(f"{FORM}&lang=cy")
    keys = [chunk.split('"')[0] for chunk in page.text.split('name="risk.answers.')[1:]][::3]
    form = {
        "csrf_token": await csrf_token(client, FORM),
        "action": "send",
        "received_at": "02/11/2026",
        "criteria": "visible_high_risk",
        "victim.name": "Jane Doe",
        "victim.address.line1": "1 High Street",
        "victim.address.postcode": "NS1 1AA",
        "summary": "Threats.",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
        **{f"risk.answers.{key}": "yes" if number < 3 else "no" for number, key in enumerate(keys)},
    }
    answer = await client.post(FORM, data=form)
    assert answer.status_code == 400
    assert "Mae risg uchel amlwg angen sgôr risg o 14 neu fwy; sgôr yr atgyfeiriad hwn yw 3" in text_of(answer)


async def test_the_referral_page_and_the_list_in_welsh(client, personas):
    referral = await make_referral(personas["idva"])
    client.cookies.update(await session_cookie_for(personas["idva"]))
    page = await client.get(f"/referrals/{referral.id}?lang=cy")
    shown = text_of(page)
    assert page.status_code == 200 and '<html lang="cy"' in page.text
    assert "Atgyfeiriad a dderbyniwyd 2 Tachwedd 2026" in shown
    assert "Statws" in shown and "Wedi dod i law" in shown and "Meini prawf a fodlonwyd" in shown
    assert "Rhestr wirio adnabod risg DASH SafeLives (2009): sgôr 15" in shown
    assert "Dioddefwr yn ymwybodol: ie. Wedi cydsynio: ie." in shown
    assert "Jane Doe" in shown and "Escalating threats after separation." in shown  # case text as written
    listed = await client.get("/referrals")
    assert "Atgyfeiriadau y gallwch eu gweld" in text_of(listed)
    with i18n.use("cy"):
        welsh = i18n.format_date(date(2026, 11, 2), "medium")
    with i18n.use("en"):
        english = i18n.format_date(date(2026, 11, 2), "medium")
    assert welsh != english and welsh in text_of(listed) and english not in text_of(listed)


async def test_a_conference_made_before_the_files_had_welsh_finds_it_in_them(client, personas):
    conference = await Conference.get(slug=CONFERENCE)

    def english_only(value):
        if isinstance(value, dict):
            return {k: english_only(v) for k, v in value.items() if not k.endswith("_cy")}
        if isinstance(value, list):
            return [english_only(v) for v in value]
        return value

    conference.type_settings = english_only(conference.type_settings)
    await conference.save()
    stored = (await Conference.get(slug=CONFERENCE)).type_settings
    question = stored["instrument_definition"]["questions"][1]
    assert "text_cy" not in question
    with i18n.use("cy"):
        assert conference_types.localised(question, "text") == "Ydych chi'n ofnus iawn?"
        assert conference_types.localised(stored, "name") == "MARAC cam-drin domestig"
        assert conference_types.localised_word(stored["instrument_definition"], "answers", "yes") == "ie"
        assert conference_types.confidentiality_statement(stored).startswith("Mae'r wybodaeth a rennir yn y MARAC hwn")
        # Words the file no longer has find nothing: the English stays.
        assert (
            conference_types.localised({"text": "A question since reworded?"}, "text") == "A question since reworded?"
        )
    with i18n.use("en"):
        assert conference_types.localised(question, "text") == "Are you very frightened?"
        assert conference_types.confidentiality_statement(stored).startswith("Information shared at this MARAC")
    client.cookies.update(await session_cookie_for(personas["idva"]))
    page = text_of(await client.get(f"{FORM}&lang=cy"))
    assert "2. Ydych chi'n ofnus iawn?" in page and "Y sefyllfa bresennol" in page


def _agendas_copy(tmp_path):
    folder = tmp_path / "agendas"
    shutil.copytree(conference_types.AGENDAS_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def _drop_line(path, starting: str, occurrence: int = 0) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines) if line.startswith(starting)]
    del lines[found[occurrence]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_shipped_label_has_its_welsh():
    assert missing_welsh() == []


def test_the_loader_lists_each_label_without_its_welsh(tmp_path):
    folder = _agendas_copy(tmp_path)
    _drop_line(folder / "instruments" / "dash.toml", "text_cy = ", occurrence=3)
    _drop_line(folder / "hate-crime.toml", "title_cy = ", occurrence=0)
    _drop_line(folder / "instruments" / "hate-crime.toml", "levels_cy = ")
    assert missing_welsh(folder) == [
        "instruments/dash.toml: questions[3].text_cy",
        "instruments/hate-crime.toml: levels_cy",
        "hate-crime.toml: sections[0].title_cy",
    ]
    # Still loadable: a missing Welsh form is a warning, the English is shown instead.
    assert set(conference_types.load_types(folder)) == {"domestic-abuse", "hate-crime"}


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        ("instruments/dash.toml", 'text_cy = "Ydych chi', 'text_cy = "', "questions[1].text_cy"),
        ("instruments/hate-crime.toml", 'levels_cy = ["isel", ', "levels_cy = [", "levels_cy"),
        ("domestic-abuse.toml", 'name_cy = "', 'nam_cy = "', "nam_cy"),
    ],
)
def test_a_wrong_welsh_form_stops_the_loader_naming_it(tmp_path, file, old, new, named):
    folder = _agendas_copy(tmp_path)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    if new == 'text_cy = "':  # an empty Welsh question
        start = text.index(old)
        text = text[:start] + 'text_cy = ""' + text[text.index("\n", start) :]
    else:
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConferenceTypeError, match=re.escape(f"key '{named}'")):
        conference_types.load_types(folder)


def test_start_up_warns_once_and_marac_check_prints_the_list(tmp_path, monkeypatch, caplog):
    folder = _agendas_copy(tmp_path)
    _drop_line(folder / "instruments" / "dash.toml", "text_cy = ", occurrence=3)
    monkeypatch.setattr(conference_types, "missing_welsh", lambda: missing_welsh(folder))
    monkeypatch.setattr(conference_types, "_loaded", None)
    with caplog.at_level("WARNING", logger="marac.conference_types"):
        conference_types.conference_types()
        conference_types.conference_types()
    warned = [r.getMessage() for r in caplog.records if r.name == "marac.conference_types"]
    assert warned == ["1 labels in agendas/ lack their Welsh form: instruments/dash.toml: questions[3].text_cy"]
    printed, code = check.report([check._agendas()])
    assert code == 0 and printed.startswith("warn  agendas: 1 label(s) without their Welsh form")
    assert "instruments/dash.toml: questions[3].text_cy" in printed


async def test_a_history_files_problems_read_in_welsh(client, personas):
    """Loaded in Welsh, the problems are in Welsh; a file refused while its coordinator read English
    still shows its message in Welsh to a Welsh page."""
    coordinator = personas["coordinator"]
    client.cookies.update(await session_cookie_for(coordinator))
    await client.get(f"/conferences/{CONFERENCE}/history?lang=cy")
    answer = await _upload(client, csv_text([JANE, {**JANE, "heard_on": "soon"}]))
    await run_jobs()
    page = text_of(await client.get(answer.headers["location"]))
    assert "Nid yw 1 rhes yn ddilys; ni fewnforiwyd dim" in page
    assert "Llinell 3, colofn heard_on: Rhowch ddyddiad go iawn, er enghraifft 21/11/2026" in page
    await client.get(f"/conferences/{CONFERENCE}/history?lang=en")
    refused = await _upload(client, "nonsense\n1\n")
    await run_jobs()
    assert "The file's header is not valid" in text_of(await client.get(refused.headers["location"]))
    welsh = text_of(await client.get(refused.headers["location"] + "?lang=cy"))
    assert "Nid yw pennawd y ffeil yn ddilys; ni fewnforiwyd dim" in welsh


async def _upload(client, content: str):
    token = await csrf_token(client, f"/conferences/{CONFERENCE}/history")
    return await client.post(
        f"/conferences/{CONFERENCE}/history",
        data={"csrf_token": token},
        files={"file": ("history.csv", content.encode())},
    )
