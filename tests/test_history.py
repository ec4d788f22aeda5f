"""Earlier cases from a history file (`marac import history`, the coordinator's history page):
all or nothing with every problem by line and column, in the person index, counting for
repeats within the window, never on an agenda or in the figures, never loaded twice."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from marac.agencies.access import viewer_for
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.meetings import agenda
from marac.meetings.models import AgendaItem
from marac.referrals import history
from marac.referrals import service as referrals
from marac.referrals.models import EarlierCase, HistoryImport, Person, PersonKey, Referral
from marac.reports.figures import Quarter, quarterly
from tests.builders import other_conference_coordinator, referral, scheduled_meeting
from tests.conftest import CONFERENCE, csrf_token, dash_body, session_cookie_for
from tests.flows import run_jobs
from tests.test_migrations_and_cli import cli

HEADER = list(history.COLUMNS)
# dash_body's victim and perpetrator, heard in March: a referral of 2 November is a repeat.
JANE = {
    "victim_name": "Jane Doe",
    "victim_date_of_birth": "1990-03-14",
    "perpetrator_name": "John Roe",
    "perpetrator_date_of_birth": "1985-07-01",
    "heard_on": "2026-03-10",
}
OTHERS = [
    {**JANE, "victim_name": "Maria Okafor", "victim_date_of_birth": "1979-11-02", "perpetrator_name": "Kofi Mensah"},
    {**JANE, "victim_name": "Siobhan Byrne", "victim_date_of_birth": "15/06/1995", "perpetrator_name": "Sean Walsh"},
]


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def import_cli(tmp_path, rows: list[dict[str, str]], name: str = "history.csv") -> tuple[int, str]:
    path = tmp_path / name
    path.write_text(csv_text(rows))
    return await cli("import", "history", str(path), "--conference", CONFERENCE)


async def test_the_command_line_loads_every_case_into_the_person_index_and_no_referral(personas, tmp_path):
    # Jane's second case, her name typed surname first in capitals, her date of birth the UK way.
    later = {**JANE, "victim_name": "DOE, Jane", "victim_date_of_birth": "14/03/1990", "heard_on": "2026-06-01"}
    code, out = await import_cli(tmp_path, [JANE, *OTHERS, later])
    assert code == 0, out
    assert "Imported 4 earlier cases" in out
    assert "Jane" not in out and "Okafor" not in out  # no personal data in what the command prints
    cases = await EarlierCase.all().prefetch_related("victim_person", "perpetrator_person")
    assert sorted(c.victim_person.names[0] for c in cases) == ["Jane Doe", "Jane Doe", "Maria Okafor", "Siobhan Byrne"]
    jane = {c.victim_person_id for c in cases if c.victim_person.names[0] == "Jane Doe"}
    assert len(jane) == 1  # one entry of the index, linked from the file's own earlier row
    assert {c.heard_on for c in cases} == {date(2026, 3, 10), date(2026, 6, 1)}
    siobhan = next(c for c in cases if c.victim_person.names == ["Siobhan Byrne"])
    assert siobhan.victim_person.date_of_birth == date(1995, 6, 15)  # a UK date as spreadsheets write it
    assert siobhan.perpetrator_person.names == ["Sean Walsh"]
    assert await PersonKey.filter(person_id=siobhan.victim_person_id).count() >= 3  # findable by later referrals
    assert await Referral.all().count() == 0  # never a referral
    upload = await HistoryImport.get()
    assert (upload.status, upload.added, upload.content) == ("done", 4, None)  # the file is not kept
    assert await AuditEvent.filter(action="history.import", object_id=upload.id, outcome="ok").exists()


async def test_a_bad_file_writes_nothing_and_every_problem_is_named_by_line_and_column(personas, tmp_path):
    rows = [
        JANE,
        {**JANE, "victim_name": ""},  # line 3
        {**JANE, "victim_name": "Zebedee Unusual", "heard_on": "2026-02-31"},  # line 4
        {**JANE, "heard_on": "2031-01-01", "perpetrator_date_of_birth": "1 July 1985"},  # line 5: two problems
        {**JANE, "perpetrator_name": "", "perpetrator_date_of_birth": ""},  # line 6: the type matches perpetrators
        {**JANE, "victim_date_of_birth": "2026-04-01"},  # line 7: born after the case was heard
    ]
    code, out = await import_cli(tmp_path, rows)
    assert code == 1, out
    assert "5 rows are not valid; nothing was imported" in out
    for expected in (
        "Line 3, column victim_name: Enter the victim's name",
        "Line 4, column heard_on: Enter a real date",
        "Line 5, column heard_on: The date the case was heard cannot be in the future",
        "Line 5, column perpetrator_date_of_birth: Enter a real date",
        "Line 6, column perpetrator_name: Enter the perpetrator's name",
        "Line 7, column victim_date_of_birth: The date of birth is after the date the case was heard",
    ):
        assert expected in out, out
    assert "Line 2" not in out
    assert "Zebedee" not in out and "1 July" not in out  # messages never repeat what the file holds
    assert await EarlierCase.all().count() == 0
    assert await Person.all().count() == 0 and await PersonKey.all().count() == 0
    upload = await HistoryImport.get()
    assert upload.status == "failed" and upload.content is None
    assert any("Line 3, column victim_name" in p for p in upload.problems)


async def test_a_header_that_is_not_the_history_columns_is_refused_at_line_1(personas, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text(csv_text([JANE], header=["victim_name", "heard", "perpetrator_name"]))
    code, out = await cli("import", "history", str(path), "--conference", CONFERENCE)
    assert code == 1
    assert "Line 1: Unknown columns: heard. Missing columns: heard_on." in out
    code, out = await cli("import", "history", str(path), "--conference", "no-such-conference")
    assert code == 1 and "no-such-conference" in out


async def test_importing_the_same_file_again_is_refused_and_overlapping_files_never_double_a_case(personas, tmp_path):
    assert (await import_cli(tmp_path, [JANE, OTHERS[0]]))[0] == 0
    code, out = await import_cli(tmp_path, [JANE, OTHERS[0]])
    assert code == 1 and "The same file was imported on" in out
    # Another file naming one case again (its names typed differently) and one new case.
    again = {**JANE, "victim_name": "JANE  DOE", "victim_date_of_birth": "14/03/1990"}
    code, out = await import_cli(tmp_path, [again, OTHERS[1]], name="more.csv")
    assert code == 0, out
    assert "Imported 1 earlier case into" in out and "1 row named cases already loaded" in out
    assert await EarlierCase.all().count() == 3
    # Jane is one entry of the index, found again, not a second person.
    jane = [p for p in await Person.all() if p.date_of_birth == date(1990, 3, 14)]
    assert len(jane) == 1


async def test_a_referral_within_the_window_of_an_earlier_case_is_a_repeat_and_not_outside_it(
    client, personas, tmp_path
):
    assert (await import_cli(tmp_path, [JANE]))[0] == 0
    # dash_body: Jane Doe and John Roe, received (and the incident) 2 November 2026.
    repeat = await referral(personas, criteria=["repeat"], risk={"instrument": "dash", "score": 3})
    assert repeat.is_repeat and repeat.previous_referral_id is None
    case = await EarlierCase.get()
    assert repeat.previous_case_id == case.id and "repeat" in repeat.criteria_met
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/referrals/{repeat.id}")
    assert "Yes: of a case heard on 10 March 2026, before this service" in page.text
    # Another perpetrator: this conference matches victim and perpetrator, so not a repeat.
    other = await referral(personas, perpetrators=[{"name": "Piotr Nowak", "date_of_birth": "1982-02-02"}])
    assert not other.is_repeat
    # Heard more than 12 months before the incident: a new case.
    await EarlierCase.all().update(heard_on=date(2025, 11, 1))
    late = await referral(personas, received_at="2026-11-03")
    assert not late.is_repeat and late.previous_case_id is None


async def test_a_referral_already_received_becomes_a_repeat_when_its_history_is_loaded(personas, tmp_path):
    before = await referral(personas)
    assert not before.is_repeat
    assert (await import_cli(tmp_path, [JANE]))[0] == 0
    after = await Referral.get(id=before.id)
    assert after.is_repeat and after.previous_case_id == (await EarlierCase.get()).id


async def test_earlier_cases_are_never_on_an_agenda_nor_in_the_figures(personas, tmp_path):
    assert (await import_cli(tmp_path, [JANE, *OTHERS]))[0] == 0
    conference = await Conference.get(slug=CONFERENCE)
    figures = await quarterly(conference, Quarter(2026, 1), date(2026, 11, 21))
    assert figures["cases"]["heard"] == 0  # heard in March, but not by this service: no figure
    made = await referral(personas, accept=True)
    meeting = await scheduled_meeting()
    await agenda.build(meeting)
    assert await AgendaItem.filter(meeting=meeting).values_list("referral_id", flat=True) == [made.id]


async def _upload(client, persona, content: str, slug: str = CONFERENCE):
    client.cookies.update(await session_cookie_for(persona))
    token = await csrf_token(client, f"/conferences/{slug}/history")
    return await client.post(
        f"/conferences/{slug}/history", data={"csrf_token": token}, files={"file": ("history.csv", content.encode())}
    )


async def test_the_coordinator_loads_a_file_on_the_page_and_follows_its_progress(client, personas):
    answer = await _upload(client, personas["coordinator"], csv_text([JANE, *OTHERS]))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(rf"/conferences/{CONFERENCE}/history/[0-9a-f]{{32}}", location)
    await run_jobs()
    page = await client.get(location)
    assert page.status_code == 200
    assert "3 earlier cases loaded" in page.text and 'value="100"' in page.text
    assert "data-marac-refresh" not in page.text  # finished: nothing refreshes any more
    assert await EarlierCase.all().count() == 3
    upload = await HistoryImport.get()
    assert upload.requested_by == personas["coordinator"].user.id
    assert await AuditEvent.filter(action="history.upload", user_id=personas["coordinator"].user.id).exists()
    listing = await client.get(f"/conferences/{CONFERENCE}/history")
    assert location in listing.text


async def test_a_running_import_shows_its_progress_and_refreshes_itself(client, personas):
    coordinator = await viewer_for(personas["coordinator"].user)
    conference = await history.conference_for(coordinator, CONFERENCE)
    upload = await history.start(coordinator, conference, csv_text([JANE]).encode())
    await HistoryImport.filter(id=upload.id).update(status="running", progress=40)
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/conferences/{CONFERENCE}/history/{upload.id}")
    assert page.status_code == 200
    assert "<progress" in page.text and 'value="40"' in page.text and "40%" in page.text
    assert "data-marac-refresh" in page.text and 'http-equiv="refresh"' in page.text  # with or without JavaScript


async def test_the_page_shows_every_problem_of_a_bad_file_by_line_and_column(client, personas):
    answer = await _upload(client, personas["coordinator"], csv_text([JANE, {**JANE, "heard_on": "soon"}]))
    await run_jobs()
    page = await client.get(answer.headers["location"])
    assert "1 row is not valid; nothing was imported" in page.text
    assert "Line 3, column heard_on: Enter a real date" in page.text
    assert await EarlierCase.all().count() == 0
    # Not UTF-8: refused on the form itself, nothing kept.
    refused = await client.post(
        f"/conferences/{CONFERENCE}/history",
        data={"csrf_token": await csrf_token(client, f"/conferences/{CONFERENCE}/history")},
        files={"file": ("history.csv", b"victim_name,heard_on\n\xff\xfe,2026-01-01\n")},
    )
    assert refused.status_code == 400 and "not UTF-8" in refused.text
    assert await HistoryImport.all().count() == 1


async def test_only_the_conference_coordinator_reaches_its_history_pages(client, personas):
    await _upload(client, personas["coordinator"], csv_text([JANE]))
    await run_jobs()
    upload = await HistoryImport.get()
    paths = [f"/conferences/{CONFERENCE}/history", f"/conferences/{CONFERENCE}/history/{upload.id}"]
    south = await other_conference_coordinator()
    for persona in [personas["chair"], personas["police"], personas["idva"], personas["admin"], south]:
        client.cookies.clear()
        client.cookies.update(await session_cookie_for(persona))
        for path in paths:
            assert (await client.get(path)).status_code == 404, (persona.key, path)
        token = await csrf_token(client, "/account")
        refused = await client.post(paths[0], data={"csrf_token": token}, files={"file": ("h.csv", b"x")})
        assert refused.status_code == 404
    assert await HistoryImport.all().count() == 1


async def test_a_medium_match_is_not_linked_and_the_import_leaves_suggestions_to_referrals(personas, tmp_path):
    # No date of birth: the name alone never links (people.resolve would not either).
    assert (await import_cli(tmp_path, [{**JANE, "victim_date_of_birth": ""}]))[0] == 0
    made = await referral(personas, body=dash_body())
    assert not made.is_repeat  # the coordinator decides the match first
    coordinator = await viewer_for(personas["coordinator"].user)
    [suggestion] = await referrals.pending_matches(coordinator)
    await referrals.decide_match(coordinator, suggestion.id, same=True)
    assert (await Referral.get(id=made.id)).previous_case_id == (await EarlierCase.get()).id
