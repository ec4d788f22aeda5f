"""The actions, reports, retention and admin pages in Welsh, as the people who use them read them
(README, "Languages"): Welsh headings, statuses, dates, plurals and form errors, from the real pages."""

from __future__ import annotations

import re

from marac import i18n
from marac.actions.models import Action
from marac.agencies.models import User
from marac.reports.figures import Quarter
from tests.builders import published_meeting
from tests.conftest import CONFERENCE, csrf_token, make_client, session_cookie_for
from tests.test_actions import agree

WELSH_MONTHS = ("Ion", "Chwef", "Maw", "Ebr", "Mai", "Meh", "Gorff", "Awst", "Medi", "Hyd", "Tach", "Rhag")


def welsh(day, form: str) -> str:
    with i18n.use("cy"):
        return i18n.format_date(day, form)


async def test_an_agency_reads_and_updates_its_actions_in_welsh(app, client, personas):
    world = await published_meeting(personas)
    action = await agree(client, personas, world.meeting, world.case_id, owner="health")
    due = (await Action.get(id=action["id"])).due_date
    async with make_client(app) as health:
        health.cookies.update(await session_cookie_for(personas["health"]))
        listed = await health.get("/actions?lang=cy")
        assert listed.status_code == 200 and '<html lang="cy"' in listed.text
        assert "Camau gweithredu eich asiantaeth" in listed.text and "Your agency's actions" not in listed.text
        assert "Erbyn yr wythnos hon" in listed.text  # the filters
        row = re.search(r"<tbody.*?</tbody>", listed.text, re.S).group(0)
        assert welsh(due, "medium") in row and welsh(due, "medium").split()[1].rstrip(".") in WELSH_MONTHS
        assert "Ar agor" in row and ">Open<" not in row  # the status, from the one table of statuses

        page = await health.get(f"/actions/{action['id']}")
        assert "Cam gweithredu i " in page.text and "Action for" not in page.text
        assert welsh(due, "long") in page.text  # "19 Rhagfyr 2026"
        assert "Ddim yn bosibl: newidiodd yr amgylchiadau" in page.text  # the status choices
        assert "Cytunwyd yn y cyfarfod" in page.text  # the history's first line, written by the service

        token = await csrf_token(health, f"/actions/{action['id']}")
        refused = await health.post(
            f"/actions/{action['id']}/update",
            data={"csrf_token": token, "version": "1", "status": "not_done_by_agency", "update": ""},
        )
        assert refused.status_code == 400
        assert "Mae problem wedi codi" in refused.text
        assert "Dywedwch pam: mae angen nodyn ar gyfer y canlyniad hwn" in refused.text
        assert (await Action.get(id=action["id"])).status == "open"  # nothing changed

        saved = await health.post(
            f"/actions/{action['id']}/update",
            data={"csrf_token": token, "version": "1", "status": "in_progress", "update": "Cofnodion wedi'u gofyn"},
        )
        assert saved.status_code == 303
        shown = await health.get(saved.headers["location"])
        assert "Diweddariad wedi'i gadw." in shown.text and "Ar y gweill" in shown.text
    # The page's language is the user's from then on; the API still answers in English.
    assert (await User.get(id=personas["health"].user.id)).language == "cy"
    answer = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"status": "not_done_by_agency"},
        headers={**personas["health"].bearer, "If-Match": "2", "Accept-Language": "cy"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"]["update"] == "Say why: this outcome needs a note"


async def test_the_coordinator_reads_the_quarterly_figures_and_retention_in_welsh(app, personas):
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = await coordinator.get(f"/reports?conference={CONFERENCE}&quarter=2026Q3&lang=cy")
        assert page.status_code == 200 and '<html lang="cy"' in page.text
        assert '<h1 class="govuk-heading-l">Ffigurau chwarterol</h1>' in page.text
        assert "Gorffennaf i Fedi 2026" in page.text  # the quarter's name
        assert "Ffigurau union, ar gyfer eich sgrin chi yn unig." in page.text
        assert "Cynhyrchu adroddiad y grŵp llywio (PDF)" in page.text
        bad = await coordinator.get(f"/reports?conference={CONFERENCE}&quarter=nope")
        assert bad.status_code == 400 and "Rhowch chwarter fel YYYYQN, er enghraifft 2026Q3" in bad.text

        retention = await coordinator.get(f"/conferences/{CONFERENCE}/retention")
        assert '<h1 class="govuk-heading-l">Cadw cofnodion</h1>' in retention.text
        # Six years: Welsh's "many" form, after the numeral.
        assert "am <strong>6 blynedd</strong> ar ôl atgyfeiriad olaf y dioddefwr" in retention.text
        assert "Mae 0 achos wedi mynd heibio'r cyfnod cadw i gyd." in retention.text
        assert re.search(r"Rhediad nesaf: Dydd \w+, \d+ \w+ \d{4}\.", retention.text)
        assert "Quarterly figures" not in page.text and "Retention" not in retention.text


async def test_an_admin_manages_conferences_and_users_in_welsh(app, personas):
    async with make_client(app) as admin:
        admin.cookies.update(await session_cookie_for(personas["admin"]))
        listed = await admin.get("/admin/conferences?lang=cy")
        assert listed.status_code == 200 and "Ychwanegu cynhadledd" in listed.text
        assert re.search(
            r"Dydd (Llun|Mawrth|Mercher|Iau|Gwener|Sadwrn|Sul) \d\d:\d\d, o \d+ \w+\.? \d{4} ymlaen", listed.text
        )
        assert '<option value="monday">Dydd Llun</option>' in listed.text  # the value stays the code

        users = await admin.get("/admin/users")
        assert "Ychwanegu defnyddiwr" in users.text and '<option value="coordinator">Cydlynydd</option>' in users.text

        token = await csrf_token(admin, f"/admin/conferences/{CONFERENCE}")
        refused = await admin.post(
            f"/admin/conferences/{CONFERENCE}/report-settings",
            data={"csrf_token": token, "adult_female_population": "", "repeat_rate_benchmark": "101"},
        )
        assert refused.status_code == 400 and "Rhowch ganran o 0 i 100" in refused.text
        assert "Asiantaethau sy'n aelodau" in refused.text and "Member agencies" not in refused.text


def test_every_quarter_and_status_has_its_welsh_name():
    with i18n.use("cy"):
        assert [Quarter(2026, n).label for n in (1, 2, 3, 4)] == [
            "Ionawr i Fawrth 2026",
            "Ebrill i Fehefin 2026",
            "Gorffennaf i Fedi 2026",
            "Hydref i Ragfyr 2026",
        ]
    from marac.actions.models import ACTION_STATUSES, status_words

    with i18n.use("cy"):
        welsh_words = [status_words(s) for s in ACTION_STATUSES]
    english = [status_words(s) for s in ACTION_STATUSES]
    assert english == ["Open", "In progress", "Done", "Not possible: circumstances changed", "Not done by the agency"]
    assert all(w != e for w, e in zip(welsh_words, english, strict=True))


def test_what_the_service_writes_in_english_is_read_in_welsh():
    """Texts the service stores as written (a disclosure's purpose, an action's first update) are shown in
    the reader's language; the disclosure page's table says what audit.service writes, word for word."""
    from marac.actions.models import update_words
    from marac.audit.service import DISCLOSURE_PURPOSES
    from marac.web.pages.disclosures import PURPOSES

    assert {kind: str(words) for kind, words in PURPOSES.items()} == DISCLOSURE_PURPOSES
    with i18n.use("cy"):
        assert all(str(words) != DISCLOSURE_PURPOSES[kind] for kind, words in PURPOSES.items())
        assert update_words("Agreed at the meeting") == "Cytunwyd yn y cyfarfod"
        assert update_words("Done") == "Done"  # what a person typed stays as typed
