"""English and Welsh for everyone's pages (README, "Languages"): sign-in, the error pages, the account page and its
language setting, the home page's to-do list, the dashboard, notifications, and the e-mails, each in its
recipient's language. Real database, real pages, a real SMTP server."""

from __future__ import annotations

import re
from html import unescape

import pyotp
from babel.dates import format_date

from marac import notices
from marac.agencies import locks, service
from marac.agencies.models import Agency, Membership, User
from marac.alerts import fanout
from marac.clock import today
from marac.jobs import queue, tasks
from marac.notices.models import Notification
from marac.notify import outbox
from tests.builders import as_, referral
from tests.conftest import csrf_token, make_client, make_referral, session_cookie_for
from tests.test_break_glass import break_glass, browser


def read(page) -> str:
    """A page's text as a reader sees it: entities decoded, so an apostrophe is one either way."""
    return unescape(page.text)


async def signed_in(app, persona, language: str | None = None):
    browser = make_client(app)
    browser.cookies.update(await session_cookie_for(persona))
    if language:
        browser.cookies.set("lang", language)
    return browser


# -- before sign-in -------------------------------------------------------------------------------


async def test_the_sign_in_journey_in_welsh(app, personas):
    async with make_client(app) as browser:
        page = await browser.get("/login?lang=cy")
        assert '<html lang="cy"' in read(page)
        assert '<h1 class="govuk-heading-l">Mewngofnodi</h1>' in read(page)
        assert "Cyfeiriad e-bost" in read(page) and "Cyfrinair" in read(page) and ">Parhau</button>" in read(page)
        token = await csrf_token(browser)
        wrong = await browser.post(
            "/login", data={"email": personas["idva"].email, "password": "not the password", "csrf_token": token}
        )
        assert wrong.status_code == 400
        assert "Rhowch gyfeiriad e-bost a chyfrinair cywir" in read(wrong)
        assert '<span class="govuk-visually-hidden">Gwall:</span>' in read(wrong)
        # The second factor, its form error, and the English never seen in Welsh.
        persona = personas["idva"]
        await User.filter(id=persona.user.id).update(totp_last_step=0)
        token = await csrf_token(browser)
        first = await browser.post(
            "/login", data={"email": persona.email, "password": persona.password, "csrf_token": token}
        )
        assert first.status_code == 303
        mfa = await browser.get(first.headers["location"])
        assert "Rhowch eich cod diogelwch" in read(mfa) and "Y cod 6 digid o'ch ap dilysu" in read(mfa)
        token = await csrf_token(browser, "/login/mfa")
        refused = await browser.post("/login/mfa", data={"code": "000000", "csrf_token": token, "next": "/"})
        assert refused.status_code == 400 and "Rhowch y cod 6 digid a ddangosir yn eich ap dilysu" in read(refused)
        assert "Enter the 6-digit code" not in read(refused)
        code = pyotp.TOTP(persona.totp_secret).now()
        token = await csrf_token(browser, "/login/mfa")
        passed = await browser.post("/login/mfa", data={"code": code, "csrf_token": token, "next": "/"})
        assert passed.status_code == 303
        home = await browser.get("/")
        assert "Helo, " in read(home) and "Yn aros amdanoch" in read(home)


async def test_error_pages_and_the_refused_form_in_welsh(client):
    missing = await client.get("/no-such-page?lang=cy")
    assert missing.status_code == 404
    assert "Tudalen heb ei chanfod" in read(missing) and "Mynd i'r dudalen gychwyn" in read(missing)
    expired = await client.post("/login", data={"email": "a@b.example", "password": "x", "csrf_token": "stale"})
    assert expired.status_code == 403
    assert "Mae'r ffurflen hon wedi dod i ben" in read(expired) and "This form has expired" not in read(expired)
    # English stays the default.
    english = await client.get("/no-such-page?lang=en")
    assert "Page not found" in read(english) and "Go to the start page" in read(english)


async def test_a_domain_refusal_is_titled_in_welsh(app, personas):
    # The police officer may not load the conference's earlier cases: told the page does not exist.
    async with await signed_in(app, personas["police"], "cy") as browser:
        refused = await browser.get("/conferences/northshire-da/history")
        assert refused.status_code == 404 and "Tudalen heb ei chanfod" in read(refused)
    async with await signed_in(app, personas["police"], "en") as browser:
        refused = await browser.get("/conferences/northshire-da/history")
        assert refused.status_code == 404 and "Page not found" in read(refused)


# -- the account page's language ------------------------------------------------------------------


async def test_the_account_page_sets_the_language_of_pages(app, personas):
    persona = personas["police"]
    async with await signed_in(app, persona) as browser:
        page = await browser.get("/account")
        assert "Language / Iaith" in read(page) and 'lang="cy">Cymraeg</label>' in read(page)
        assert not re.search(r'value="(en|cy)" checked', read(page))  # no setting yet
        token = await csrf_token(browser, "/account")
        saved = await browser.post("/account/language", data={"language": "cy", "csrf_token": token})
        assert saved.status_code == 303 and saved.headers["location"].startswith("/account?language=saved")
        assert (await User.get(id=persona.user.id)).language == "cy"
        page = await browser.get(saved.headers["location"])
        assert '<html lang="cy"' in read(page) and '<h1 class="govuk-heading-l">Eich cyfrif</h1>' in read(page)
        assert "Iaith / Language" in read(page) and "Mae eich iaith wedi'i chadw" in read(page)
        assert 'value="cy" checked' in read(page)

        # Something not on offer changes nothing and says why, in the page's language.
        token = await csrf_token(browser, "/account")
        refused = await browser.post("/account/language", data={"language": "fr", "csrf_token": token})
        assert refused.status_code == 400 and "Dewiswch English neu Cymraeg" in read(refused)
        assert (await User.get(id=persona.user.id)).language == "cy"

        token = await csrf_token(browser, "/account")
        back = await browser.post("/account/language", data={"language": "en", "csrf_token": token})
        assert back.status_code == 303
        page = await browser.get("/account")
        assert '<html lang="en-GB"' in read(page) and "Your account" in read(page)
    assert (await User.get(id=persona.user.id)).language == "en"


async def test_the_account_page_in_welsh_keeps_its_form_errors_welsh(app, personas):
    async with await signed_in(app, personas["health"], "cy") as browser:
        token = await csrf_token(browser, "/account")
        answer = await browser.post(
            "/account/password",
            data={"current_password": "", "code": "", "new_password": "short", "confirm": "other", "csrf_token": token},
        )
        assert answer.status_code == 400
        assert "Nid yw'r ddau gyfrinair newydd yr un fath" in read(answer)
        assert "Rhowch eich cyfrinair" in read(answer) and "Mae problem wedi codi" in read(answer)
        # A token is made only after a step-up, which asks in Welsh too.
        step_up = await browser.get("/step-up?next=/account")
        assert "Cadarnhewch mai chi sydd yno" in read(step_up) and "Cod diogelwch" in read(step_up)


# -- home, dashboard, notifications ---------------------------------------------------------------


async def test_the_home_page_and_the_dashboard_in_welsh(app, personas):
    await referral(personas, by="police")
    await referral(personas, by="health")
    async with await signed_in(app, personas["coordinator"], "cy") as browser:
        home = await browser.get("/")
        assert "Yn aros amdanoch" in read(home)
        # Welsh takes the singular noun after a number: "2 atgyfeiriad", not a plural.
        assert "2 atgyfeiriad i'w frysbennu" in read(home)
        assert re.search(r"Bob 14 diwrnod, Dydd Mawrth am 10:00", read(home))
        assert "Wedi mewngofnodi fel cydlynydd ar gyfer Northshire Council." in read(home)
        board = await browser.get("/dashboard")
        assert board.status_code == 200
        assert '<h1 class="govuk-heading-l">Dangosfwrdd</h1>' in read(board)
        assert "Cyfarfod nesaf" in read(board) and "Atgyfeiriadau sy'n aros i'w brysbennu" in read(board)
        assert re.search(r"Dydd (Llun|Mawrth|Mercher|Iau|Gwener|Sadwrn|Sul), \d+ \w+ 20\d\d", read(board))
        assert "Next meeting" not in read(board)
    async with await signed_in(app, personas["coordinator"]) as browser:
        home = await browser.get("/")
        assert "2 referrals to triage" in read(home) and "Every 14 days, Tuesday at 10:00" in read(home)


async def test_a_notice_is_shown_in_the_pages_language_and_the_api_stays_english(app, client, personas):
    await Membership.filter(agency_id=personas["idva"].user.agency_id).update(receives_referrals=True)
    await referral(personas, by="police")
    await fanout.fan_out()
    day = today()
    async with await signed_in(app, personas["idva"], "cy") as browser:
        assert "Hysbysiadau (1)" in read(await browser.get("/"))
        page = await browser.get("/notifications")
        assert "Atgyfeiriad newydd" in read(page) and "Daeth atgyfeiriad newydd i law" in read(page)
        assert format_date(day, "medium", locale="cy") in read(page) and ">Newydd</strong>" in read(page)
        assert "A new referral was received" not in read(page)
    async with await signed_in(app, personas["idva"], "en") as browser:
        page = await browser.get("/notifications")
        assert "A new referral was received" in read(page) and format_date(day, "medium", locale="en_GB") in read(page)
    listed = await client.get("/api/v1/notifications?lang=cy", headers=personas["idva"].bearer)
    assert [n["kind"] for n in listed.json()["items"]] == ["referral_received"]


# -- e-mails in the recipient's language ----------------------------------------------------------


async def test_each_e_mail_is_in_its_recipients_language(personas, smtp):
    await User.filter(id=personas["coordinator"].user.id).update(language="cy")
    await Membership.filter(agency_id=personas["idva"].user.agency_id).update(receives_referrals=True)
    await referral(personas, by="police")
    await fanout.fan_out()
    await outbox.send_pending()
    (welsh,) = smtp.to(personas["coordinator"].email)
    assert welsh["Subject"] == "MARAC: mae angen i chi roi sylw i rywbeth"
    text = welsh.get_content()
    assert "Mae gwaith MARAC newydd i chi:" in text and "- 1 atgyfeiriad newydd wedi dod i law" in text
    assert "/notifications" in text and "There is new MARAC work" not in text
    (english,) = smtp.to(personas["idva"].email)  # no setting: English
    assert english["Subject"] == "MARAC: something needs your attention"
    assert "- 1 new referral received" in english.get_content()


async def test_a_set_up_link_and_the_coordinators_notice_follow_each_ones_language(personas, smtp):
    police, coordinator = personas["police"], personas["coordinator"]
    await User.filter(id=police.user.id).update(language="cy")
    await service.reset_sign_in(await as_(personas, "admin"), await User.get(id=police.user.id))
    await outbox.send_pending()
    (link,) = smtp.to(police.email)
    assert link["Subject"] == "MARAC: dewiswch eich cyfrinair"
    text = link.get_content()
    assert "Cafodd manylion mewngofnodi eich cyfrif MARAC eu hailosod gan weinyddwr." in text
    assert "o fewn 72 awr" in text and "/setup/" in text
    (notice,) = smtp.to(coordinator.email)  # the coordinator has no setting: English
    subject = " ".join(notice["Subject"].split())  # a long header comes folded
    assert subject == "MARAC: an account with case access was created, reset or given a new role"
    assert "An administrator has reset the sign-in of an account" in notice.get_content()


async def test_a_lock_is_told_in_each_ones_language_in_the_app_and_by_e_mail(app, personas, smtp):
    police, coordinator = personas["police"], personas["coordinator"]
    await User.filter(id=police.user.id).update(language="cy")
    day = today()
    for user, kind in ((police.user, "own_lock"), (coordinator.user, "account_lock")):
        await notices.post(user.id, kind, day)
        await locks.tell_by_email(user.id, kind, day)
    await outbox.send_pending()
    (welsh,) = smtp.to(police.email)
    assert welsh["Subject"] == "MARAC: mae eich cyfrif wedi'i gloi"
    assert "Nifer y troeon y cafodd eich cyfrif ei gloi heddiw: 1" in welsh.get_content()
    (english,) = smtp.to(coordinator.email)
    assert english["Subject"] == "MARAC: an account of your conference was locked"
    assert "Such locks you were told of today: 1" in english.get_content()
    async with await signed_in(app, police) as browser:  # no cookie: the account's setting decides
        page = await browser.get("/notifications")
        assert '<html lang="cy"' in read(page) and "Cyfrif wedi'i gloi" in read(page)
        assert "Cafodd eich cyfrif ei gloi ar ôl 5 cod diogelwch anghywir yn olynol" in read(page)


async def test_a_new_account_is_sent_its_link_in_its_agencys_language(personas, smtp):
    # A new account has no language of its own yet: its agency's document language is the best guess.
    police = personas["police"].user
    await Agency.filter(id=police.agency_id).update(language="cy")
    await service.add_user(
        await as_(personas, "admin"),
        email="swyddog.newydd@test.example.org",
        name="Swyddog Newydd",
        agency_id=police.agency_id,
        role="member",
        conference_slugs=[],
    )
    await outbox.send_pending()
    (link,) = smtp.to("swyddog.newydd@test.example.org")
    assert link["Subject"] == "MARAC: dewiswch eich cyfrinair"
    assert "Mae gweinyddwr wedi creu cyfrif MARAC i chi." in link.get_content()


async def test_break_glass_is_refused_and_told_to_the_coordinator_in_each_ones_language(app, personas, smtp):
    health, coordinator = personas["health"], personas["coordinator"]
    await User.filter(id=coordinator.user.id).update(language="cy")
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        client.cookies.set("lang", "cy")
        refused = await break_glass(client, health, "not a reference", reason="too short")
        await break_glass(client, health, case.id)
    assert refused.status_code == 400
    assert "Rhowch gyfeirnod yr achos: y 32 llythyren a rhif sy'n nodi'r achos" in read(refused)
    assert "Dywedwch pam mae angen yr achos hwn arnoch nawr, mewn o leiaf 20 nod" in read(refused)
    assert "Enter the case reference" not in read(refused)
    await queue.drain()
    (notification,) = await Notification.filter(kind="break_glass")
    await tasks.notify_break_glass(grant_id=notification.break_glass_id)  # with Redis no worker runs here
    (message,) = smtp.to(coordinator.email)
    assert message["Subject"] == "MARAC: mynediad brys i'w adolygu"
    body = message.get_content()
    assert "Defnyddiau o fynediad brys yn aros i chi eu hadolygu: 1" in body and "/break-glass/reviews" in body
    assert "waiting for your review" not in body
