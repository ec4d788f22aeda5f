"""Every template rendered with an XSS payload in every field a person controls: the payload
appears only escaped.

The pages are driven over HTTP as the personas who see them, through a whole meeting cycle
(tests/flows.py) whose every typed field, and every agency, user and conference name, is a
payload with its own marker; the PDF templates are rendered from the real minutes and
research list through the document pipeline's own Jinja2 environment. Each answer is checked
as text (no raw payload) and as a parsed document (no script, event handler or injected
element); each field's escaped payload must show up somewhere, so a field that stops being
shown, or a template that is never rendered here, fails the test rather than passing unseen.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyotp
from markupsafe import escape

from marac.actions import preparation
from marac.actions import service as actions
from marac.actions.models import Action, Note
from marac.agencies.access import viewer_for
from marac.agencies.models import Agency, Conference, User
from marac.clock import today
from marac.documents import render as documents
from marac.governance import subject_access
from marac.meetings import agenda
from marac.meetings.models import Meeting
from marac.minutes import transfer
from marac.minutes.models import MinutesVersion, TransferPackage
from marac.minutes.service import view_for
from marac.notify.models import OutboxEmail
from marac.referrals import history, locations
from marac.referrals.models import MatchSuggestion, Person, Referral, ReferralDraft
from marac.reports import export
from marac.reports.figures import Quarter, quarterly
from marac.web import templating
from marac.webhooks import service as webhooks
from marac.webhooks.models import Webhook
from tests.conftest import CONFERENCE, PASSWORD, csrf_token, make_client, session_cookie_for
from tests.flows import meeting_cycle

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
RAW = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
# Where an e-mail address is the only text: no spaces allowed, so a tag that needs none.
EMAIL = "x\"'><svg/onload=alert(1)>@example.org"
NEVER_RAW = ["<script>alert", "<img src=x", "<svg/onload", "\"'><"]  # escaped, "onerror=" is harmless text


def payload(field: str) -> str:
    return f"{RAW}xss{field.replace('_', '')}"


def escaped(field: str) -> str:
    return str(escape(payload(field)))


class Elements(HTMLParser):
    """What a browser would build: any script, handler or injected element is reported."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._script = found
            if found.get("src") not in (None, "/static/init.js"):
                self.problems.append(f"script from {found.get('src')!r}")
        # Our server-drawn charts are inline SVG (class marac-chart, templates/pdf/_chart.html); any
        # other svg is injected, and nothing inside one may pull in content or markup.
        chart = tag == "svg" and found.get("class") == "marac-chart"
        if (tag in ("svg", "iframe", "object", "embed", "base", "foreignobject", "use") and not chart) or (
            tag == "img" and found.get("src") == "x"
        ):
            self.problems.append(f"<{tag}> element")
        self.problems += [f"<{tag} {name}=...>" for name in found if name.lower().startswith("on")]
        self.problems += [
            f"<{tag} {name}={value!r}>"
            for name, value in attrs
            if value and name in ("href", "src", "action") and value.strip().lower().startswith("javascript:")
        ]

    def handle_data(self, data: str) -> None:
        # Inline script is refused by our CSP; data in a page (JSON) must never be able to close its tag.
        if self._script is not None and data.strip():
            if self._script.get("type") != "application/json" or "<" in data:
                self.problems.append(f"inline script: {data[:80]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def problems_in(html: str) -> list[str]:
    found = [f"raw {s!r}" for s in NEVER_RAW if s in html]
    parser = Elements()
    parser.feed(html)
    return found + parser.problems


class Seen:
    """Every page and document looked at, checked as it comes."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def check(self, label: str, html: str) -> str:
        assert not problems_in(html), f"{label}: {problems_in(html)}"
        self.texts.append((label, html))
        return html

    async def get(self, client: httpx.AsyncClient, url: str, status: int = 200) -> str:
        answer = await client.get(url)
        assert answer.status_code == status, (url, answer.status_code, answer.text[:500])
        return self.check(f"GET {url}", answer.text)

    async def post(self, client: httpx.AsyncClient, form_page: str, url: str, data: dict, status: int, **kwargs) -> str:
        answer = await client.post(url, data={**data, "csrf_token": await csrf_token(client, form_page)}, **kwargs)
        assert answer.status_code == status, (url, answer.status_code, answer.text[:500])
        return self.check(f"POST {url}", answer.text)

    def expect(self, label_part: str, *fields: str) -> None:
        pages = [text for label, text in self.texts if label_part in label]
        assert pages, f"no page matching {label_part!r}"
        missing = [f for f in fields if not any(escaped(f) in text for text in pages)]
        assert not missing, f"{label_part}: not shown escaped: {missing}"


def track(environment, prefix: str, names: set[str]):
    """Record every template an environment loads (extends, includes and imports too)."""
    original = environment.get_template

    def get_template(name, *args, **kwargs):
        names.add(prefix + (name if isinstance(name, str) else name.name))
        return original(name, *args, **kwargs)

    environment.get_template = get_template
    return original


async def _mark_the_directory(personas) -> None:
    for key, persona in personas.items():
        await User.filter(id=persona.user.id).update(name=payload(f"user_{key}"))
    for agency in await Agency.all():
        await Agency.filter(id=agency.id).update(name=payload(f"agency_{agency.kind}"))
    await Conference.filter(slug=CONFERENCE).update(name=payload("conference_name"), venue=payload("venue"))


async def test_every_template_shows_user_text_only_escaped(app, client, personas):
    rendered: set[str] = set()
    web_original = track(templating.env, "", rendered)
    pdf_original = track(documents.environment, "pdf/", rendered)
    try:
        await _check_everything(app, client, personas, Seen())
    finally:
        templating.env.get_template = web_original
        documents.environment.get_template = pdf_original
    every = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")}
    assert every - rendered == set(), f"templates this test never renders: {sorted(every - rendered)}"


async def _check_everything(app, client, personas, seen: Seen) -> None:
    await _mark_the_directory(personas)
    conference = await Conference.get(slug=CONFERENCE)
    ids = {k: personas[k].user.agency_id for k in ("police", "idva", "health", "childrens")}
    async with (
        make_client(app) as coordinator,
        make_client(app) as chair,
        make_client(app) as police,
        make_client(app) as health,
        make_client(app) as admin,
        make_client(app) as housing,
        make_client(app) as idva,
    ):
        for key, browser in (
            ("coordinator", coordinator),
            ("chair", chair),
            ("police", police),
            ("health", health),
            ("admin", admin),
            ("housing", housing),
            ("idva", idva),
        ):
            browser.cookies.update(await session_cookie_for(personas[key]))

        async def at(stage: str, found: dict[str, str]) -> None:
            meeting = found["meeting_id"]
            if stage == "scheduled":
                await Meeting.filter(conference=conference).update(venue=payload("venue"))
                await seen.get(coordinator, f"/meetings/{meeting}")  # the draft agenda, with names and summaries
                return
            await seen.get(chair, f"/meetings/{meeting}/cases/{found['case_id']}")
            await seen.post(
                chair,
                f"/meetings/{meeting}/cases/{found['case_id']}",
                f"/meetings/{meeting}/cases/{found['case_id']}/notes",
                {"text": payload("note_form"), "visibility": "nobody"},
                400,
            )
            case = found["case_id"]
            await seen.post(
                chair,
                f"/meetings/{meeting}/cases/{case}",
                f"/meetings/{meeting}/cases/{case}/decision",
                {"outcome": "heard", "outcome_reason": payload("outcome_reason")},
                303,
            )
            await seen.post(
                chair,
                f"/meetings/{meeting}/run",
                f"/meetings/{meeting}/aob",
                {"any_other_business": payload("any_other_business")},
                303,
            )
            await seen.get(chair, f"/meetings/{meeting}/run")
            await seen.get(health, f"/meetings/{meeting}")  # the research list, before the meeting closes
            await seen.get(idva, f"/meetings/{meeting}")  # with the advocate's contact with the victim
            await seen.get(chair, f"/meetings/{meeting}/preparation")  # every agency's research, the victim's views
            seen.expect(f"/meetings/{meeting}/preparation", "research_summary", "advocate_research", "victim_views")
            prepared = await preparation.content(await Meeting.get(id=meeting).prefetch_related("conference"))
            seen.check(
                "pdf chair_pack",
                documents.render_html(
                    "chair_pack.html",
                    {**prepared, "version": 1, "reference": "CP-1", "recipient": payload("recipient")},
                ),
            )
            # Changing a note and an action, refused so the form comes back with what was typed; asking first.
            note_id = (await Note.filter(item_id=case, visibility="all").first()).id
            edit_note = f"/meetings/{meeting}/cases/{case}/notes/{note_id}/edit"
            await seen.get(chair, edit_note)
            await seen.post(chair, edit_note, edit_note, {"text": payload("note_edit"), "visibility": "nobody"}, 400)
            await seen.get(chair, f"/meetings/{meeting}/cases/{case}/notes/{note_id}/delete")
            edit_action = f"/meetings/{meeting}/cases/{case}/actions/{found['action_id']}/edit"
            await seen.get(chair, edit_action)
            typed = {"description": payload("action_edit"), "due_date": payload("due_date_edit"), "version": "1"}
            await seen.post(chair, edit_action, edit_action, typed, 400)
            await seen.get(chair, f"/meetings/{meeting}/close")

        cycle = await meeting_cycle(client, chair, personas, payload, at=at)
        meeting, following = cycle.meeting_id, cycle.next_meeting_id

        # Referrals: the referrer's and the coordinator's views, the form refilled after an error, import errors.
        await seen.get(police, "/referrals")
        await seen.get(police, f"/referrals/{cycle.referral_id}")
        await seen.get(coordinator, f"/referrals/{cycle.repeat_id}")
        await seen.get(police, "/referrals/new?conference=no-such-conference")
        await seen.get(police, f"/referrals/new?conference={CONFERENCE}")
        form = {
            "victim.name": payload("form_victim"),
            "victim.aliases": payload("form_alias"),
            "victim.address.line1": payload("form_address"),
            "summary": payload("form_summary"),
            "perpetrators.0.name": payload("form_perpetrator"),
            "received_at": payload("form_date"),
        }
        await seen.post(
            police, f"/referrals/new?conference={CONFERENCE}", f"/referrals/new?conference={CONFERENCE}", form, 400
        )
        # The same form kept as a draft: the author's list and the form filled in again.
        await seen.post(
            police,
            f"/referrals/new?conference={CONFERENCE}",
            f"/referrals/new?conference={CONFERENCE}",
            {**form, "action": "draft"},
            303,
        )
        draft = await ReferralDraft.get()
        await seen.get(police, "/referrals/drafts")
        await seen.get(police, f"/referrals/drafts/{draft.id}")
        await seen.post(police, f"/referrals/drafts/{draft.id}", f"/referrals/drafts/{draft.id}/delete", {}, 200)
        await seen.get(police, "/referrals/import")
        csv = f"{payload('csv_column').replace(',', ' ')},victim.name\n1,2\n".encode()
        await seen.post(
            police,
            "/referrals/import",
            "/referrals/import",
            {},
            400,
            files={"file": ("x.csv", io.BytesIO(csv), "text/csv")},
        )
        await seen.get(coordinator, "/referrals")
        people = await Person.filter(conference=conference).limit(2)
        await MatchSuggestion.create(
            conference=conference, person=people[0], candidate=people[1], score=0.8, reasons=["similar names"]
        )
        await seen.get(coordinator, "/matches")

        # Earlier cases: the upload page, and a refused import's page with its problems by line and column.
        as_coordinator = await viewer_for(personas["coordinator"].user)
        await seen.get(coordinator, f"/conferences/{CONFERENCE}/history")
        refused = await history.start(as_coordinator, conference, b"victim_name,heard_on\nJane Doe,soon\n")
        await history.run(refused.id)
        await seen.get(coordinator, f"/conferences/{CONFERENCE}/history/{refused.id}")
        # The places a conference names for repeats by location, one named with markup.
        await locations.add(as_coordinator, conference, payload("place_name"))
        await seen.get(coordinator, f"/conferences/{CONFERENCE}/places")
        seen.expect(f"GET /conferences/{CONFERENCE}/places", "place_name")

        # Information governance: break-glass asked for (refilled after an error, then granted) and
        # reviewed, the retention report, the subject access form and its PDF.
        glass = {
            "reference": payload("glass_reference")[:32],
            "reason": payload("glass_reason"),
            "password": "wrong",
            "code": "1",
        }
        await seen.post(housing, "/break-glass", "/break-glass", glass, 400)
        await User.filter(id=personas["housing"].user.id).update(totp_last_step=0)
        granted = {
            **glass,
            "reference": cycle.referral_id,
            "password": PASSWORD,
            "code": pyotp.TOTP(personas["housing"].totp_secret).now(),
        }
        await seen.post(housing, "/break-glass", "/break-glass", granted, 303)
        await seen.get(housing, "/break-glass")
        await seen.get(coordinator, "/break-glass/reviews")
        await seen.get(coordinator, f"/conferences/{CONFERENCE}/retention")
        victim = (await Referral.get(id=cycle.referral_id)).victim_person_id
        await seen.get(coordinator, f"/people/{victim}/subject-access")
        await seen.post(
            coordinator,
            f"/people/{victim}/subject-access",
            f"/people/{victim}/subject-access",
            {"format": payload("format")},
            400,
        )
        await seen.get(coordinator, "/step-up?next=/" + payload("step_next"))
        await seen.post(
            coordinator,
            "/step-up",
            "/step-up",
            {"next": "/" + payload("step_next"), "password": "wrong", "code": "1"},
            400,
        )
        held_about = await subject_access.export(
            await viewer_for(personas["coordinator"].user),
            await subject_access.subject(await viewer_for(personas["coordinator"].user), victim),
        )
        seen.check(
            "pdf subject_access",
            documents.render_html(
                "subject_access.html",
                {"export": held_about, "reference": "SA-1", "recipient": payload("recipient"), "version": 1},
            ),
        )

        # A transfer out: the area and recipient typed on the referral page, then its package.
        transferred = f"/referrals/{cycle.referral_id}"
        typed_transfer = {"area": payload("transfer_area"), "recipient": payload("transfer_recipient")}
        await seen.post(coordinator, transferred, f"{transferred}/transfer", typed_transfer, 303)
        await seen.get(coordinator, transferred)
        package = await TransferPackage.get(referral_id=cycle.referral_id)
        seen.check(
            "pdf transfer_package",
            documents.render_html(
                "transfer_package.html",
                {
                    **await transfer.content(package),
                    "reference": "TR-1",
                    "recipient": payload("recipient"),
                    "version": 1,
                },
            ),
        )
        seen.expect(f"GET {transferred}", "transfer_area")
        seen.expect("pdf transfer_package", "transfer_area", "transfer_recipient")

        # Meetings, minutes, actions, notifications.
        await seen.get(coordinator, f"/conferences/{CONFERENCE}")
        await seen.get(coordinator, f"/meetings/{meeting}")
        await seen.get(chair, f"/meetings/{meeting}")
        await seen.get(police, f"/meetings/{meeting}")
        await seen.get(coordinator, f"/meetings/{following}")
        await seen.get(chair, f"/meetings/{following}/run")
        await seen.get(coordinator, f"/jobs/{cycle.minutes_job_id}?meeting={meeting}")
        await seen.get(coordinator, f"/meetings/{meeting}/minutes")
        await seen.get(coordinator, f"/meetings/{meeting}/circulation")
        await seen.get(chair, f"/meetings/{meeting}/minutes/approve")
        for agency in (ids["police"], ids["childrens"]):
            await seen.get(coordinator, f"/meetings/{meeting}/minutes/preview?agency_id={agency}")
        await seen.get(coordinator, "/disclosures")
        await seen.get(coordinator, f"/audit?case_id={cycle.case_id}")
        # The dashboard names agencies in its overdue table: make the cycle's action overdue for it.
        kept = await Action.get(id=cycle.action_id)
        await Action.filter(id=kept.id).update(status="open", due_date=today() - timedelta(days=1))
        await seen.get(coordinator, "/dashboard")
        await Action.filter(id=kept.id).update(status=kept.status, due_date=kept.due_date)
        await seen.get(coordinator, f"/actions?status=all&conference={CONFERENCE}&agency={ids['police']}")
        await seen.get(coordinator, f"/referrals?conference={CONFERENCE}")
        await seen.get(police, "/actions?status=all")
        await seen.get(police, f"/actions/{cycle.action_id}")
        await seen.post(
            police,
            f"/actions/{cycle.action_id}",
            f"/actions/{cycle.action_id}/update",
            {"version": "1", "status": "in_progress", "update": payload("stale_update")},
            412,
        )
        await seen.get(police, "/notifications")
        quarter = Quarter.of((await Meeting.get(id=meeting)).date)
        await seen.get(
            coordinator, f"/reports?conference={CONFERENCE}&quarter={quarter}"
        )  # exact, with the settings form
        await seen.get(chair, f"/reports?conference={CONFERENCE}&quarter={quarter}")

        # Account, directory, sign-in pages, errors.
        await seen.post(police, "/account", "/account/tokens", {"label": payload("token_label")[:100]}, 200)
        await seen.get(police, "/account")
        await seen.get(police, "/")
        await seen.get(police, "/referrals/0123456789abcdef0123456789abcdef", status=404)
        for url in ("/", "/admin/agencies", "/admin/conferences", f"/admin/conferences/{CONFERENCE}"):
            await seen.get(admin, url)
        await seen.post(
            admin, "/admin/agencies", "/admin/agencies", {"name": payload("agency_form"), "kind": "bad"}, 400
        )
        hook = await webhooks.register(None, ids["health"], "https://hooks.health.example/marac", ["minutes.ready"])
        # Stored as it could not be typed (the URL check refuses spaces), to be sure it is shown escaped anyway.
        await Webhook.filter(id=hook.webhook.id).update(url="https://hooks.health.example/" + payload("webhook_url"))
        await seen.post(
            admin,
            "/admin/webhooks",
            "/admin/webhooks",
            {"agency_id": ids["health"], "url": payload("webhook_form"), "events": "minutes.ready"},
            400,
        )
        await seen.get(admin, "/admin/webhooks")
        await seen.get(admin, f"/admin/webhooks/{hook.webhook.id}")
        seen.expect("/admin/webhooks", "webhook_url", "webhook_form")
        await seen.post(
            admin, "/admin/conferences", "/admin/conferences", {"name": payload("conference_form"), "slug": "x"}, 400
        )
        created = await seen.post(
            admin,
            "/admin/users",
            "/admin/users",
            {
                "email": EMAIL,
                "name": payload("new_user"),
                "agency_id": ids["health"],
                "role": "member",
                "conferences": CONFERENCE,
            },
            200,
        )
        assert "/setup/" not in created  # the link goes to the user's own address only
        setup_path = re.search(r"(/setup/\S+)", (await OutboxEmail.get(kind="setup_link")).body).group(1)
        await seen.get(admin, "/admin/users")
        # The new user's own page, and made chair there: the coordinator is told of the new role, by name.
        new_user = await User.get(email=EMAIL)
        await seen.get(admin, f"/admin/users/{new_user.id}")
        change = {"conferences": CONFERENCE, f"role.{CONFERENCE}": "chair"}
        await seen.post(admin, f"/admin/users/{new_user.id}", f"/admin/users/{new_user.id}/conferences", change, 303)
        await seen.get(coordinator, "/notifications")  # told of the new account, by name
        async with make_client(app) as stranger:
            await seen.get(stranger, "/login?" + urlencode({"next": "/" + payload("next")}))
            page = await seen.get(stranger, setup_path)
            assert str(escape(EMAIL.lower())) in page
            answer = await stranger.post(
                setup_path,
                data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": await csrf_token(stranger, setup_path)},
            )
            assert answer.status_code == 303
            answer = await stranger.post(
                "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": await csrf_token(stranger)}
            )
            assert answer.status_code == 303 and answer.headers["location"].startswith("/mfa/enrol")
            await seen.get(stranger, answer.headers["location"])
        async with make_client(app) as signing_in:
            answer = await signing_in.post(
                "/login",
                data={
                    "email": personas["idva"].email,
                    "password": PASSWORD,
                    "csrf_token": await csrf_token(signing_in),
                },
            )
            await seen.get(signing_in, answer.headers["location"])  # the second factor

    # The documents, from the real minutes and research list, through the pipeline's environment.
    await actions.close_meeting(
        await viewer_for(personas["coordinator"].user), await Meeting.get(id=following).prefetch_related("conference")
    )
    assert (
        await client.post(f"/api/v1/meetings/{following}/minutes/approve", headers=personas["chair"].bearer)
    ).status_code == 200
    for meeting_id in (meeting, following):
        content = (await MinutesVersion.get(meeting_id=meeting_id, status="approved")).content
        for agency, tier in ((ids["police"], "full"), (ids["childrens"], "actions_only")):
            view = {
                **view_for(content, agency, tier),
                "version": 1,
                "reference": "MIN-1",
                "recipient": payload("recipient"),
            }
            seen.check(f"pdf minutes {meeting_id} {tier}", documents.render_html("minutes.html", view))
            correction = {
                **view,
                "version": 2,
                "correction_reason": payload("correction_reason"),
                "changes": [{"case_label": payload("change_label"), "what": "note (discussion)", "how": "added"}],
            }
            seen.check(f"pdf minutes {meeting_id} {tier} v2", documents.render_html("minutes.html", correction))
            if view.get("restricted"):
                seen.check(
                    f"pdf minutes_restricted {meeting_id}",
                    documents.render_html(
                        "minutes_restricted.html",
                        {
                            "restricted": view["restricted"],
                            "version": 1,
                            "reference": "MIN-1",
                            "recipient": payload("recipient"),
                        },
                    ),
                )
    seen.check(
        "pdf footer",
        documents.render_html("footer.html", {"reference": "MIN-1", "recipient": payload("recipient"), "version": 1}),
    )
    seen.check("pdf page_numbers", documents.render_html("page_numbers.html", {"pages": 2}))
    held = await Meeting.get(id=meeting).prefetch_related("conference")
    # Far ahead as "today": every meeting of the cycle has been heard, so its actions' agencies are listed.
    figures = export.suppress(await quarterly(held.conference, Quarter.of(held.date), date(2100, 1, 1)))
    seen.check(
        "pdf quarterly",
        documents.render_html(
            "quarterly.html",
            {
                "figures": figures,
                "reference": "QR-1",
                "recipient": payload("recipient"),
                "version": 1,
                "chart_template": "_chart.html",
            },
        ),
    )
    seen.check(
        "pdf agenda",
        documents.render_html(
            "agenda.html",
            {
                "conference_name": held.conference.name,
                "meeting_date": held.date,
                "cut_off": held.cut_off,
                "venue": held.venue,
                "recipient": payload("recipient"),
                "version": 1,
                "reference": "AG-1",
                "cases": [vars(case) for case in await agenda.research_list(held)],
            },
        ),
    )

    _expect(seen)


def _expect(seen: Seen) -> None:
    """Each field is shown, escaped, where people read it."""
    names = ["victim_name", "perpetrator_name", "child_name"]
    seen.expect("pdf agenda", *names, "address_line1", "conference_name", "venue", "recipient")
    seen.expect(
        "pdf minutes",
        "conference_name",
        "venue",
        "user_chair",
        "present_name",
        "apology_name",
        "observer_name",
        "note_all",
        "note_restricted",
        "action_description",
        "outcome_reason",
        "any_other_business",
        "review_note",
        "agency_police",
        "recipient",
    )
    seen.expect("pdf footer", "recipient")
    seen.expect("pdf quarterly", "conference_name", "recipient", "agency_police")
    seen.expect("/reports", "conference_name")
    seen.expect(
        "/referrals/",
        *names,
        "victim_alias",
        "perpetrator_alias",
        "relationship",
        "address_line1",
        "address_line2",
        "town",
        "summary",
        "judgement_reason",
        "consent_reason",
        "transfer_from",
        "decision_reason",
        "agency_police",
    )
    seen.expect(
        "/referrals/new",
        "form_victim",
        "form_alias",
        "form_address",
        "form_summary",
        "form_perpetrator",
        "form_date",
        "conference_name",
        "user_police",
    )
    seen.expect("GET /referrals/drafts", "form_victim", "conference_name")
    seen.expect(
        "GET /referrals/drafts/",
        "form_victim",
        "form_alias",
        "form_address",
        "form_summary",
        "form_perpetrator",
        "form_date",
    )
    seen.expect("POST /referrals/drafts/", "form_victim", "conference_name")
    seen.expect("/referrals/import", "csv_column")
    seen.expect("/matches", "victim_name")
    seen.expect(
        "/cases/",
        "victim_name",
        "summary",
        "note_all",
        "note_restricted",
        "note_chair_only",
        "action_description",
        "note_form",
        "agency_police",
    )
    seen.expect("/notes/", "note_all", "note_edit")
    seen.expect("/actions/", "action_description", "action_edit", "due_date_edit")
    seen.expect(
        "/run",
        "present_name",
        "apology_name",
        "observer_name",
        "action_description",
        "review_note",
        "any_other_business",
        "outcome_reason",
        "victim_name",
    )
    seen.expect(
        "/meetings/",
        "conference_name",
        "venue",
        "research_summary",
        "victim_name",
        "summary",
        "address_line1",
        "perpetrator_name",
        "child_name",
        "agency_health",
    )
    seen.expect("/conferences/", "conference_name")
    seen.expect("/actions", "action_description", "action_update", "stale_update", "agency_police")
    seen.expect("/disclosures", "agency_police", "user_police", "conference_name")
    seen.expect("/dashboard", "conference_name", "agency_police")
    seen.expect("/account", "token_label", "user_police", "agency_police")
    seen.expect(
        "/admin/", "agency_police", "conference_name", "agency_form", "conference_form", "new_user", "user_health"
    )
    seen.expect("/notifications", "new_user", "agency_health", "conference_name")
    seen.expect("/login?next", "next")
    seen.expect("/break-glass", "glass_reason", "user_housing", "agency_housing", "conference_name")
    seen.expect("/retention", "conference_name")
    seen.expect("/step-up", "step_next")
    seen.expect(
        "pdf subject_access",
        "victim_name",
        "perpetrator_name",
        "summary",
        "note_all",
        "note_chair_only",
        "action_description",
        "research_summary",
        "recipient",
    )  # in a value="..." attribute
