"""Incident locations: the key a repeat by location is matched on, and the places a coordinator names.

A conference type whose `repeat.match` names `location` (hate crime hotspots, agendas/README.md)
matches a referral with earlier ones about the same place: a postcode, normalised (names.py), or
a place the coordinator names ("Market Square"). The referral keeps the location sealed; what is
matched is a keyed digest of it (location_key), like the person index's blocking keys, so the
column names no address and nothing readable ever reaches a log, a list or a job.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marac import settings
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.clock import now
from marac.errors import NotFound, RuleViolation
from marac.i18n import gettext as _
from marac.ids import ID_PATTERN
from marac.referrals import names
from marac.referrals.models import NamedPlace, Referral

PURPOSE = "location-key"
MAX_PLACE_NAME = 100


def matches_on_location(type_settings: dict[str, Any]) -> bool:
    return "location" in type_settings["repeat"]["match"]


def _token(location: dict[str, Any] | None) -> str | None:
    """What a location is matched on: the normalised postcode or the named place's id."""
    if not location:
        return None
    if location.get("place"):
        return f"place:{location['place']}"
    postcode = names.normalise_postcode(location.get("postcode"))
    return f"postcode:{postcode}" if postcode else None


def key_of(location: dict[str, Any] | None) -> tuple[str, int] | None:
    """The digest to store for a location, under the newest key, and that key's version."""
    token = _token(location)
    if token is None:
        return None
    version, key = settings.get().current_key(PURPOSE)
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest(), version


def probe_keys(location: dict[str, Any] | None) -> list[str]:
    """The digests to look for: under every key version, so locations stored before the newest
    key was added are found while `marac keys rotate` has not yet recomputed them."""
    token = _token(location)
    if token is None:
        return []
    keys = settings.get().versioned_keys(PURPOSE).values()
    return sorted({hmac.new(key, token.encode(), hashlib.sha256).hexdigest() for key in keys})


async def rekey(batch: int = 500) -> int:
    """Recompute, under the newest key, the location keys made with an older one (`marac keys
    rotate`), from each referral's sealed location; returns how many referrals."""
    version = settings.get().current_key(PURPOSE)[0]
    done = 0
    while True:
        found = (
            await Referral.filter(location_key__isnull=False)
            .exclude(location_key_version=version)
            .limit(batch)
            .only("id", "incident_location")
        )
        for referral in found:
            made = key_of(referral.incident_location)
            key, made_version = made if made else (None, None)
            await Referral.filter(id=referral.id).update(location_key=key, location_key_version=made_version)
        done += len(found)
        if len(found) < batch:
            return done


# ---- named places ------------------------------------------------------------------------------


def _squeezed(name: str) -> str:
    return " ".join(name.split())


async def places(conference_id: str, conn: BaseDBAsyncClient | None = None) -> list[NamedPlace]:
    """The conference's named places a referral may choose, by name (retired ones left out)."""
    return await NamedPlace.filter(conference_id=conference_id, retired_at__isnull=True).using_db(conn)


async def listed(viewer: Viewer, conference: Conference) -> list[NamedPlace]:
    """The named places, for whoever may refer to the conference (the form's choices) or manage them."""
    if not access.may_refer(viewer, conference.id):
        raise NotFound("Conference not found")
    return await places(conference.id)


async def choose(conference_id: str, chosen: str) -> NamedPlace | None:
    """A named place of the conference by its name (case and spacing aside) or its id. By id also a
    retired one: a referral that named it before keeps it when corrected."""
    if ID_PATTERN.fullmatch(chosen):
        by_id = await NamedPlace.filter(conference_id=conference_id, id=chosen).first()
        if by_id is not None:
            return by_id
    wanted = _squeezed(chosen).casefold()
    return next((p for p in await places(conference_id) if p.name.casefold() == wanted), None)


async def add(viewer: Viewer, conference: Conference, name: str | None) -> NamedPlace:
    access.require_manage_places(viewer, conference.id)
    name = _squeezed(name or "")
    if not name or len(name) > MAX_PLACE_NAME:
        raise RuleViolation(
            _("The place is not valid"),
            {"name": _("Name the place in 1 to %(num)d characters") % {"num": MAX_PLACE_NAME}},
        )
    if any(p.name.casefold() == name.casefold() for p in await places(conference.id)):
        raise RuleViolation(_("The place is already named"), {"name": _("The conference already names this place")})
    async with in_transaction() as conn:
        place = await NamedPlace.create(conference=conference, name=name, using_db=conn)
        await record(
            "named_place.add",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="named_place",
            object_id=place.id,
            conference_id=conference.id,
            conn=conn,
        )
    return place


async def retire(viewer: Viewer, conference: Conference, place_id: str) -> NamedPlace:
    """The place is no longer offered; referrals that named it keep it, and still match on it."""
    access.require_manage_places(viewer, conference.id)
    place = None
    if ID_PATTERN.fullmatch(place_id):
        place = await NamedPlace.filter(id=place_id, conference_id=conference.id, retired_at__isnull=True).first()
    if place is None:
        raise NotFound("Place not found")
    place.retired_at = now()
    async with in_transaction() as conn:
        await place.save(using_db=conn, update_fields=["retired_at"])
        await record(
            "named_place.retire",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="named_place",
            object_id=place.id,
            conference_id=conference.id,
            conn=conn,
        )
    return place
