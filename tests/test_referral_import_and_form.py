"""Bulk import (all rows or none, every bad row reported) and the referral form page."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys

from marac.referrals.imports import COLUMNS
from marac.referrals.models import Referral
from tests.conftest import CONFERENCE, csrf_token, dash_body, session_cookie_for

GOOD_ROW = {
    "conference": CONFERENCE,
    "received_at": "2026-11-02",
    "criteria": "visible_high_risk",
    "risk_instrument": "dash",
    "risk_answers": ";".join(["yes"] * 15 + ["no"] * 9),
    "victim_name": "Jane Doe",
    "victim_date_of_birth": "1990-03-14",
    "victim_postcode": "NS1 1AA",
    "victim_address_line1": "1 High Street",
    "perpetrator_name": "John Roe",
    "perpetrator_relationship": "ex-partner",
    "children": "Amy Doe|2018-05-05;Ben Doe|2020-01-01",
    "summary": "Threats after separation.",
    "consent_victim_aware": "yes",
    "consent_consented": "yes",
}


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "children"])
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


async def upload(client, persona, name: str, content: str):
    client.cookies.update(await session_cookie_for(persona))
    token = await csrf_token(client, "/referrals/import")
    return await client.post("/referrals/import", data={"csrf_token": token}, files={"file": (name, content.encode())})


async def test_a_good_csv_imports_every_row(client, personas):
    answer = await upload(
        client, personas["police"], "referrals.csv", csv_text([GOOD_ROW, {**GOOD_ROW, "victim_name": "Mary Major"}])
    )
    assert answer.status_code == 200 and "2 referrals imported" in answer.text
    assert await Referral.all().count() == 2
    first = await Referral.all().prefetch_related("people").first()
    assert len([p for p in first.people if p.role == "child"]) == 2


async def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(client, personas):
    rows = [
        GOOD_ROW,
        {**GOOD_ROW, "victim_postcode": "not a postcode"},
        GOOD_ROW,
        {**GOOD_ROW, "summary": "", "risk_answers": "yes"},
    ]
    answer = await upload(client, personas["police"], "referrals.csv", csv_text(rows))
    assert answer.status_code == 400
    assert "Line 3, column victim_postcode: Enter a UK postcode, for example SW1A 1AA" in answer.text
    assert "Line 5, column summary: This is required" in answer.text
    assert "Line 2" not in answer.text and "Line 4" not in answer.text
    assert await Referral.all().count() == 0


async def test_a_json_import_reports_items_and_unknown_columns_are_refused(client, personas):
    items = [dash_body(), {**dash_body(), "colour": "blue"}]
    answer = await upload(client, personas["police"], "referrals.json", json.dumps(items))
    assert answer.status_code == 400 and "Item 2, field colour: Unknown field" in answer.text
    bad_header = "conference,shoe_size\n" + CONFERENCE + ",9\n"
    refused = await upload(client, personas["police"], "referrals.csv", bad_header)
    assert refused.status_code == 400 and "shoe_size" in refused.text
    assert await Referral.all().count() == 0


async def test_the_command_line_import_is_all_or_nothing_too(personas, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(csv_text([GOOD_ROW]))
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([GOOD_ROW, {**GOOD_ROW, "received_at": "yesterday"}]))

    async def run(path) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "marac.cli",
            "import",
            "referrals",
            str(path),
            "--as",
            personas["police"].email,
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, out.decode()

    code, out = await run(bad)
    assert code == 1 and "Line 3, column received_at: " in out
    assert await Referral.all().count() == 0
    code, out = await run(good)
    assert code == 0 and "Imported 1 referral." in out


async def test_import_problems_read_in_plain_words_by_line_and_column_on_the_page_as_on_the_cli(
    client, personas, tmp_path
):
    rows = [GOOD_ROW, {**GOOD_ROW, "risk_score": "fifteen", "consent_consented": "perhaps"}]
    answer = await upload(client, personas["police"], "referrals.csv", csv_text(rows))
    assert answer.status_code == 400
    expected = [
        "Line 3, column risk_score: Enter a whole number, like 12",
        "Line 3, column consent_consented: Answer yes or no",
    ]
    for problem in expected:
        assert problem in answer.text
    assert "Input should" not in answer.text and "unable to parse" not in answer.text
    assert '<a href="#file">' in answer.text  # the error summary leads to the list beside the field

    broken = await upload(client, personas["police"], "referrals.json", '[\n  {"conference": "x",}\n]')
    assert broken.status_code == 400 and "Line 2: The JSON breaks off at column" in broken.text

    path = tmp_path / "bad.csv"
    path.write_text(csv_text(rows))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        "import",
        "referrals",
        str(path),
        "--as",
        personas["police"].email,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode()
    assert process.returncode == 1
    assert [line.strip() for line in out.splitlines()[1:]] == expected


async def test_the_form_shows_every_problem_beside_its_field_and_keeps_what_was_typed(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    page = await client.get(f"/referrals/new?conference={CONFERENCE}")
    assert page.status_code == 200 and page.text.count('name="risk.answers.') == 24 * 3
    token = await csrf_token(client, f"/referrals/new?conference={CONFERENCE}")
    answer = await client.post(
        f"/referrals/new?conference={CONFERENCE}",
        data={
            "csrf_token": token,
            "victim.name": "Jane Doe",
            "victim.address.postcode": "nonsense",
            "victim.address.line1": "1 High Street",
            "received_at": "02/11/2026",
        },
    )
    assert answer.status_code == 400
    assert "There is a problem" in answer.text
    assert 'href="#victim.address.postcode"' in answer.text and "Enter a UK postcode" in answer.text
    assert 'href="#summary"' in answer.text and 'href="#consent.victim_aware"' in answer.text
    assert 'href="#criteria">Referral criteria: Choose at least one' in answer.text
    assert 'href="#received_at">' not in answer.text  # 02/11/2026 was understood
    assert "Victim: address postcode: Enter a UK postcode" in answer.text
    assert 'value="Jane Doe"' in answer.text
    assert await Referral.all().count() == 0


async def test_a_complete_form_makes_a_referral(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    form = {
        "csrf_token": await csrf_token(client, f"/referrals/new?conference={CONFERENCE}"),
        "received_at": "02/11/2026",
        "criteria": "visible_high_risk",
        "victim.name": "Jane Doe",
        "victim.address.line1": "1 High Street",
        "victim.address.postcode": "NS1 1AA",
        "perpetrators.0.name": "John Roe",
        "children.0.name": "Amy Doe",
        "children.0.date_of_birth": "05/05/2018",
        "summary": "Threats.",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
    }
    page = await client.get(f"/referrals/new?conference={CONFERENCE}")
    keys = [chunk.split('"')[0] for chunk in page.text.split('name="risk.answers.')[1:]][::3]
    for number, key in enumerate(keys):
        form[f"risk.answers.{key}"] = "yes" if number < 14 else "no"
    answer = await client.post(f"/referrals/new?conference={CONFERENCE}", data=form)
    assert answer.status_code == 303, answer.text[:2000]
    referral = await Referral.get().prefetch_related("people")
    assert referral.risk["score"] == 14 and {p.role for p in referral.people} == {"victim", "perpetrator", "child"}
    detail = await client.get(answer.headers["location"])
    assert "Referral sent" in detail.text and "Amy Doe" in detail.text
