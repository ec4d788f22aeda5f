"""The account page: a user makes and revokes their own API tokens."""

from __future__ import annotations

import re

from marac.agencies.models import ApiToken
from tests.conftest import csrf_token, session_cookie_for


async def test_a_token_made_on_the_account_page_works_until_revoked(client, personas):
    chair = personas["chair"]
    client.cookies.update(await session_cookie_for(chair))
    token = await csrf_token(client, "/account")
    empty = await client.post("/account/tokens", data={"label": "", "csrf_token": token})
    assert empty.status_code == 400 and "Enter a name" in empty.text
    made = await client.post("/account/tokens", data={"label": "police case system", "csrf_token": token})
    raw = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert (await client.get("/api/v1/conferences", headers=bearer)).status_code == 200
    stored = await ApiToken.get(label="police case system")
    assert raw not in stored.token_hash and len(stored.token_hash) == 64  # only the hash is kept
    page = await client.get("/account")
    assert "police case system" in page.text and raw not in page.text  # shown once
    await client.post(f"/account/tokens/{stored.id}/revoke", data={"csrf_token": token})
    assert (await client.get("/api/v1/conferences", headers=bearer)).status_code == 401


async def test_nobody_can_revoke_another_users_token(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    token = await csrf_token(client, "/account")
    victim = await ApiToken.get(user_id=personas["chair"].user.id)
    await client.post(f"/account/tokens/{victim.id}/revoke", data={"csrf_token": token})
    assert (await ApiToken.get(id=victim.id)).revoked_at is None
