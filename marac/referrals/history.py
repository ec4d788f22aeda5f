"""Earlier cases: a history file loads the cases a conference heard before it used marac, so
repeats are recognised from day one (README "Loading earlier cases", docs/domain.md#repeat-referrals).

- The file is CSV with the columns COLUMNS; `victim_name` and `heard_on` are required, and
  `perpetrator_name` too where the conference type's repeat.match names the perpetrator.
- All or nothing: every row is checked first; any problem and nothing is written, each problem
  reported by line and column in words that never repeat a value from the file.
- The people go into the person index by the same rules as a referral's (people.resolve): a
  high-confidence match links to the existing entry (one already in the index, or an earlier
  row of the same file), anything else is a new entry, with its blocking keys written so later
  referrals find it. Medium matches are not offered to the coordinator here (a file of
  thousands would bury the queue): a later referral of that person offers them as usual.
- An earlier case counts for repeats (earlier_case_of) like a referral received on its heard_on
  date; it is never a referral, so never an agenda item, and never in the quarterly figures.
- The same file twice (by SHA-256) is refused; a row naming a case already loaded (the same
  people on the same date) is skipped, so overlapping files never double a case.
- The page and `marac import history` both call start() then run(); the page through a job.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from typing import TypeVar, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marac import db, i18n, sealed, settings
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference, User
from marac.audit.service import record
from marac.clock import now, today
from marac.conference_types import localised
from marac.errors import NotFound, RuleViolation
from marac.i18n import format_date, format_number, gettext, ngettext
from marac.ids import ID_PATTERN, new_id
from marac.referrals import names, people, rules
from marac.referrals.models import EarlierCase, HistoryImport, Person, PersonKey, Referral
from marac.validation import date_message, day_or_none

COLUMNS = ("victim_name", "victim_date_of_birth", "perpetrator_name", "perpetrator_date_of_birth", "heard_on")
REQUIRED_COLUMNS = ("victim_name", "heard_on")
MAX_NAME = 200  # as a referral's names (referrals.schemas.Text)
MAX_AGE_YEARS = 120
MAX_ROWS = 200_000
MAX_BYTES = 64 * 1024 * 1024
# Only these blocking keys can join two entries with high confidence (names._level: a high match
# needs the same or swapped date of birth, or the same postcode), so only they are probed.
LINKING_KEYS = ("d:", "p:")
CHUNK = 500  # ids or rows in one statement, well under SQLite's variable limit
PROBE_CHUNK = 5000  # keys in one IN (...) when probing a large index
RESOLVE_CHUNK = 2000  # rows resolved between progress reports
Progress = Callable[[int], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    line: int
    victim: names.PersonFacts
    perpetrator: names.PersonFacts | None
    heard_on: date


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def matched_by(conference: Conference) -> frozenset[str]:
    return frozenset(conference.type_settings["repeat"]["match"])


def _where(line: int, column: str | None = None) -> str:
    if column is None:
        return gettext("Line %(line)d") % {"line": line}
    # the comma is read back: parse() counts the rows with problems by the words before it
    return gettext("Line %(line)d, column %(column)s") % {"line": line, "column": column}


class Blocking(dict[names.PersonFacts, frozenset[str]]):
    """names.blocking_keys of each person of one file, worked out once: checking a row, probing
    the index and registering an entry all need them."""

    def __missing__(self, facts: names.PersonFacts) -> frozenset[str]:
        keys = self[facts] = frozenset(names.blocking_keys(facts))
        return keys


def _person(
    row: dict[str, str], line: int, role: str, required: bool, heard_on: date | None, today: date, blocking: Blocking
) -> tuple[names.PersonFacts | None, dict[str, str]]:
    """One person's name and date of birth from a row, or the problems with them."""
    name_column, dob_column = f"{role}_name", f"{role}_date_of_birth"
    name, dob_text = (row.get(name_column) or "").strip(), (row.get(dob_column) or "").strip()
    errors: dict[str, str] = {}
    if not name:
        if required:
            errors[_where(line, name_column)] = (
                gettext("Enter the victim's name") if role == "victim" else gettext("Enter the perpetrator's name")
            )
        elif dob_text:
            errors[_where(line, name_column)] = (
                gettext("Enter the victim's name with their date of birth, or neither")
                if role == "victim"
                else gettext("Enter the perpetrator's name with their date of birth, or neither")
            )
        return None, errors
    if len(name) > MAX_NAME:
        errors[_where(line, name_column)] = gettext("A name is at most %(num)d characters") % {"num": MAX_NAME}
    dob = None
    if dob_text:
        dob = day_or_none(dob_text)
        if dob is None:
            errors[_where(line, dob_column)] = date_message()
        elif dob > today or today.year - dob.year > MAX_AGE_YEARS:
            errors[_where(line, dob_column)] = gettext("Enter a date of birth in the past (and within 120 years)")
        elif heard_on is not None and dob > heard_on:
            errors[_where(line, dob_column)] = gettext("The date of birth is after the date the case was heard")
    facts = names.PersonFacts(names=(name,), date_of_birth=dob, postcode=None)
    if not errors and not blocking[facts]:
        errors[_where(line, name_column)] = gettext("Enter a name with letters in it")
    return facts, errors


def parse(text: str, conference: Conference, today: date, blocking: Blocking | None = None) -> list[Row]:
    """Every row of a history file, checked; a RuleViolation with every problem by line and column."""
    blocking = Blocking() if blocking is None else blocking
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in reader.fieldnames or []]
    reader.fieldnames = header
    match = matched_by(conference)
    needs_perpetrator = "perpetrator" in match
    required = [*REQUIRED_COLUMNS, *(["perpetrator_name"] if needs_perpetrator else [])]
    unknown = [column for column in header if column not in COLUMNS]
    missing = [column for column in required if column not in header]
    if not header or unknown or missing:
        parts = ([gettext("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}] if unknown else []) + (
            [gettext("Missing columns: %(names)s.") % {"names": ", ".join(missing)}] if missing else []
        )
        columns = gettext("The columns are: %(names)s") % {"names": ", ".join(COLUMNS)}
        raise RuleViolation(
            gettext("The file's header is not valid; nothing was imported"),
            {_where(1): " ".join(parts or [gettext("The file is empty.")]) + " " + columns},
        )
    if not match & {"victim", "perpetrator"}:
        raise RuleViolation(
            gettext("This conference cannot use a history file; nothing was imported"),
            {
                _where(1): gettext("%(type)s matches repeats by location, which a history file lacks")
                % {"type": localised(conference.type_settings, "name")}
            },
        )
    rows: list[Row] = []
    errors: dict[str, str] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            errors[_where(line)] = gettext("This row has more values than the header has columns (%(num)d)") % {
                "num": len(header)
            }
            continue
        if not any((value or "").strip() for value in row.values()):
            continue  # a blank line, as spreadsheets leave at the end
        if len(rows) >= MAX_ROWS:
            raise RuleViolation(
                gettext("The file is too long; nothing was imported"),
                {
                    _where(line): gettext("A history file holds at most %(num)s cases: split it into several files")
                    % {"num": format_number(MAX_ROWS)}
                },
            )
        heard_text = (row.get("heard_on") or "").strip()
        heard_on = day_or_none(heard_text)
        if not heard_text:
            errors[_where(line, "heard_on")] = gettext("Enter the date the case was heard")
        elif heard_on is None:
            errors[_where(line, "heard_on")] = date_message()
        elif heard_on > today:
            errors[_where(line, "heard_on")] = gettext("The date the case was heard cannot be in the future")
            heard_on = None
        victim, victim_errors = _person(row, line, "victim", True, heard_on, today, blocking)
        perpetrator, perpetrator_errors = _person(
            row, line, "perpetrator", needs_perpetrator, heard_on, today, blocking
        )
        errors |= victim_errors | perpetrator_errors
        if victim is not None and heard_on is not None and not victim_errors and not perpetrator_errors:
            rows.append(Row(line, victim, perpetrator, heard_on))
    if errors:
        lines = {where.split(",")[0] for where in errors}
        raise RuleViolation(
            ngettext(
                "%(num)d row is not valid; nothing was imported",
                "%(num)d rows are not valid; nothing was imported",
                len(lines),
            )
            % {"num": len(lines)},
            errors,
        )
    if not rows:
        raise RuleViolation(
            gettext("The file has no cases; nothing was imported"), {_where(1): gettext("Add at least one row")}
        )
    return rows


Facts = names.PersonFacts  # named apart: an entry's `names` field hides the module in its class body


@dataclass(eq=False)
class _Entry:
    """An entry of the person index while a file is resolved: one already stored (`stored`), or
    one the file adds, written in bulk at the end (a model instance each would cost more than
    resolving the person)."""

    id: str
    names: list[str]
    date_of_birth: date | None
    postcode: str | None = None
    stored: Person | None = None

    def facts(self) -> Facts:
        return Facts(names=tuple(self.names), date_of_birth=self.date_of_birth, postcode=self.postcode)


class _Index:
    """The conference's person index as a bulk import sees it: the entries the file's people
    may link to, loaded once, and the entries the file adds, kept in memory until written."""

    def __init__(self, conference_id: str, blocking: Blocking) -> None:
        self.conference_id = conference_id
        self.blocking = blocking
        config = settings.get()
        self.version, self.key = config.current_key(people.INDEX_PURPOSE)
        self.keys = list(config.versioned_keys(people.INDEX_PURPOSE).values())
        self.by_digest: dict[str, list[_Entry]] = defaultdict(list)
        self.registered: dict[str, set[str]] = defaultdict(set)  # entry id → digests in by_digest
        self.own: dict[str, set[str]] = {}  # entry id → its current-version digests, to write
        self.probed: dict[names.PersonFacts, set[str]] = {}
        self.new: dict[str, _Entry] = {}
        self.changed: dict[str, _Entry] = {}
        self.linked: set[str] = set()  # stored entries a row linked to

    def probes(self, facts: names.PersonFacts) -> set[str]:
        """The linking keys' digests under every key version (people.probe_keys, narrowed)."""
        found = self.probed.get(facts)
        if found is None:
            linking = [b.encode() for b in self.blocking[facts] if b.startswith(LINKING_KEYS)]
            found = self.probed[facts] = {hmac.digest(key, b, "sha256").hex() for key in self.keys for b in linking}
        return found

    async def load(self, rows: list[Row]) -> None:
        """The stored entries sharing a probe with the file's people. Probes are made only under
        the key versions the conference's index holds (all of them while `marac keys rotate` has
        not finished; none for an empty index). An index smaller than the probes is read whole
        (one query) rather than key by key."""
        stored = PersonKey.filter(conference_id=self.conference_id)
        indexed = await stored.count()
        versions = set(await stored.distinct().values_list("key_version", flat=True))
        known = settings.get().versioned_keys(people.INDEX_PURPOSE)
        # The current version always: the file's own new entries are registered under it.
        self.keys = [known[version] for version in sorted(versions | {self.version}) if version in known]
        if not indexed:
            return
        probes = await asyncio.to_thread(_probes, self, rows)
        pairs: list[tuple[str, str]] = []
        if indexed <= len(probes):
            found = await PersonKey.filter(conference_id=self.conference_id).values_list("person_id", "key")
            pairs = [(str(person_id), str(key)) for person_id, key in found if key in probes]
        else:
            for chunk in _chunks(sorted(probes), PROBE_CHUNK):
                found = await PersonKey.filter(conference_id=self.conference_id, key__in=list(chunk)).values_list(
                    "person_id", "key"
                )
                pairs += [(str(person_id), str(key)) for person_id, key in found]
        loaded: dict[str, _Entry] = {}
        for ids in _chunks(sorted({person_id for person_id, _ in pairs})):
            for p in await Person.filter(id__in=list(ids)):
                loaded[p.id] = _Entry(p.id, list(p.names), p.date_of_birth, p.postcode, stored=p)
        for person_id, key in pairs:
            if person_id in loaded and key not in self.registered[person_id]:
                self.by_digest[key].append(loaded[person_id])
                self.registered[person_id].add(key)

    def _register(self, entry: _Entry, facts: names.PersonFacts) -> None:
        own = self.own.setdefault(entry.id, set())
        registered = self.registered[entry.id]
        for blocking in self.blocking[facts]:
            digest = hmac.digest(self.key, blocking.encode(), "sha256").hex()
            own.add(digest)
            if digest not in registered:
                registered.add(digest)
                self.by_digest[digest].append(entry)

    def resolve(self, facts: names.PersonFacts) -> _Entry:
        """people.resolve without the database: link on a high-confidence match, else a new entry."""
        candidates = [e for digest in self.probes(facts) for e in self.by_digest.get(digest, ())]
        by_id = {e.id: e for e in candidates}
        best: tuple[_Entry, float] | None = None
        for entry_id, _count in Counter(e.id for e in candidates).most_common(people.MAX_CANDIDATES):
            match = names.compare(facts, by_id[entry_id].facts())
            if match.level == "high" and (best is None or match.score > best[1]):
                best = (by_id[entry_id], match.score)
        if best is None:
            entry = _Entry(new_id(), list(facts.names), facts.date_of_birth)
            self.new[entry.id] = entry
            self._register(entry, facts)
            return entry
        entry = best[0]
        before = entry.facts()
        # merge_facts reads and sets only names, date_of_birth and postcode, which an entry has.
        people.merge_facts(cast(Person, entry), facts)
        after = entry.facts()
        if entry.id not in self.new:
            self.linked.add(entry.id)
            if after != before:
                self.changed[entry.id] = entry
        if after != before:
            self._register(entry, after)
        return entry

    def keys_to_write(self) -> list[tuple[str, str]]:
        """(entry id, digest) of every current-version key of the new and grown entries; those a
        stored entry has already are skipped on insert."""
        return [(entry_id, digest) for entry_id in [*self.new, *self.changed] for digest in self.own[entry_id]]


def problems(exc: RuleViolation) -> list[str]:
    """A refusal as lines to show, each problem with its place in the file where it has one."""
    return [message if where == "file" else f"{where}: {message}" for where, message in exc.fields.items()]


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def _already_imported(conference_id: str, digest: str, exclude: str | None = None) -> HistoryImport | None:
    query = HistoryImport.filter(conference_id=conference_id, digest=digest, status="done")
    if exclude:
        query = query.exclude(id=exclude)
    return await query.first()


def _refuse_again(done: HistoryImport) -> RuleViolation:
    return RuleViolation(
        gettext("This file was imported already; nothing was imported again"),
        {
            _where(1): gettext("The same file was imported on %(day)s: its cases are loaded")
            % {"day": format_date(done.created_at, "numeric")}
        },
    )


async def conference_for(viewer: Viewer | None, slug: str) -> Conference:
    """The conference whose history the caller may load: the command line (None) any, a user only
    one they coordinate; 404 for anyone else, who learns nothing of the conference."""
    if viewer is None:
        conference = await Conference.get_or_none(slug=slug)
        if conference is None:
            raise NotFound(f"No conference has the name {slug}")
        return conference
    conference = await access.get_conference(viewer, slug)
    access.require_history(viewer, conference.id)
    return conference


async def start(viewer: Viewer | None, conference: Conference, content: bytes) -> HistoryImport:
    """Keep an uploaded file (sealed) for run(): refused at once if it is not UTF-8 text, too big,
    or the same file as one already imported into this conference."""
    if len(content) > MAX_BYTES:
        raise RuleViolation(
            gettext("The file is too big; nothing was imported"),
            {
                "file": gettext("A history file is at most %(num)d MB: split it into several files")
                % {"num": MAX_BYTES // (1024 * 1024)}
            },
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleViolation(
            gettext("The file is not UTF-8 text; nothing was imported"),
            {"file": gettext("Save the file as UTF-8 (CSV UTF-8 in Excel)")},
        ) from None
    digest = digest_of(content)
    done = await _already_imported(conference.id, digest)
    if done is not None:
        raise _refuse_again(done)
    async with in_transaction() as conn:
        upload = await HistoryImport.create(
            conference=conference,
            digest=digest,
            content=text,
            requested_by=viewer.user_id if viewer else None,
            using_db=conn,
        )
        await record(
            "history.upload",
            user_id=viewer.user_id if viewer else None,
            agency_id=viewer.agency_id if viewer else None,
            object_type="history_import",
            object_id=upload.id,
            conference_id=conference.id,
            conn=conn,
        )
    return upload


async def run(import_id: str, progress: Progress | None = None) -> HistoryImport:
    """Check the file, resolve its people and write its cases, all or nothing; the outcome (cases
    added and skipped, or every problem) is kept on the import. Idempotent: an import that has
    ended is left as it is (arq may deliver a job twice)."""
    upload = await HistoryImport.get(id=import_id).prefetch_related("conference")
    if upload.status in ("done", "failed"):
        return upload
    conference = upload.conference

    async def report(percent: int) -> None:
        await HistoryImport.filter(id=import_id).update(status="running", progress=percent)
        if progress is not None:
            await progress(percent)

    await report(1)
    blocking = Blocking()
    # The problems are kept as words: in the language of the coordinator who loaded the file.
    requester = await User.get_or_none(id=upload.requested_by) if upload.requested_by else None
    try:
        with i18n.use(requester.language if requester else None):
            done = await _already_imported(conference.id, upload.digest, exclude=upload.id)
            if done is not None:
                raise _refuse_again(done)
            # Checking and resolving are plain Python: in a thread, so an in-process job leaves the
            # event loop to the web pages meanwhile.
            rows = await asyncio.to_thread(parse, upload.content or "", conference, today(), blocking)
    except RuleViolation as exc:
        return await _finish(upload, problems=problems(exc), message=exc.message)
    await report(20)
    index = _Index(conference.id, blocking)
    await index.load(rows)
    await report(30)
    cases: dict[tuple[str, str | None, date], Row] = {}
    for chunk in _chunks(rows, RESOLVE_CHUNK):
        await asyncio.to_thread(_resolve, index, chunk, cases)
        await report(30 + 50 * (chunk[-1].line - rows[0].line + 1) // (rows[-1].line - rows[0].line + 1))
    known = await _known_cases(conference.id, sorted(index.linked))
    fresh = {key: row for key, row in cases.items() if key not in known}
    await report(80)
    async with in_transaction() as conn:
        await _write(conference.id, upload.id, index, fresh, conn)
        upload = await _finish(upload, rows=len(rows), added=len(fresh), skipped=len(rows) - len(fresh), conn=conn)
    # A referral already received about someone now known from an earlier case may be a repeat of it.
    from marac.referrals import service  # the referral service reads earlier cases: imported here, not above

    victims: set[str] = set()
    for ids in _chunks(sorted(index.linked)):
        found = await Referral.filter(victim_person_id__in=list(ids), status__in=service.LIVE_STATUSES).values_list(
            "victim_person_id", flat=True
        )
        victims |= {str(victim_id) for victim_id in found}
    for person in await Person.filter(id__in=sorted(victims)):
        await service._recheck_repeats(person)
    return upload


PERSON_SQL = (
    'INSERT INTO "person" ("id", "conference_id", "names", "date_of_birth", "postcode", "created_at") '
    "VALUES ($1, $2, $3, $4, $5, $6)"
)
# An entry found again may already hold some of its keys: those are left as they are.
KEY_SQL = (
    'INSERT INTO "person_key" ("conference_id", "person_id", "key", "key_version") VALUES ($1, $2, $3, $4) '
    'ON CONFLICT ("conference_id", "key", "person_id") DO NOTHING'
)
CASE_SQL = (
    'INSERT INTO "earlier_case" ("id", "conference_id", "history_import_id", "victim_person_id", '
    '"perpetrator_person_id", "heard_on", "line") VALUES ($1, $2, $3, $4, $5, $6, $7)'
)


def _sealed(column: str, row_id: str, value: object) -> str | None:
    """A person's value sealed as the model seals it (marac.sealed): the same codec, table and column."""
    if value is None:
        return None
    field = Person._meta.fields_map[column]
    assert isinstance(field, sealed._Sealed)
    return sealed.seal("person", column, row_id, field.to_plaintext(value))


async def _write(
    conference_id: str,
    import_id: str,
    index: _Index,
    fresh: dict[tuple[str, str | None, date], Row],
    conn: BaseDBAsyncClient,
) -> None:
    """The new entries, their keys and the cases, by hand-written bulk inserts (a model instance a
    row costs more than the rest of the import): the values sealed and digested as the models do."""
    at = now()
    await db.execute_many(
        PERSON_SQL,
        [
            (
                e.id,
                conference_id,
                _sealed("names", e.id, e.names),
                _sealed("date_of_birth", e.id, e.date_of_birth),
                None,
                at,
            )
            for e in index.new.values()
        ],
        conn,
    )
    for entry in index.changed.values():
        assert entry.stored is not None
        entry.stored.names, entry.stored.date_of_birth = entry.names, entry.date_of_birth
        await entry.stored.save(using_db=conn, update_fields=["names", "date_of_birth"])
    await db.execute_many(
        KEY_SQL, [(conference_id, entry_id, key, index.version) for entry_id, key in index.keys_to_write()], conn
    )
    await db.execute_many(
        CASE_SQL,
        [
            (new_id(), conference_id, import_id, victim_id, perpetrator_id, heard_on, row.line)
            for (victim_id, perpetrator_id, heard_on), row in fresh.items()
        ],
        conn,
    )


def _probes(index: _Index, rows: list[Row]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        found |= index.probes(row.victim) | (index.probes(row.perpetrator) if row.perpetrator else set())
    return found


def _resolve(index: _Index, rows: Sequence[Row], cases: dict[tuple[str, str | None, date], Row]) -> None:
    """Each row's people in the index; the first row naming a case keeps it (the same people on
    the same day twice in one file is one case)."""
    for row in rows:
        victim = index.resolve(row.victim)
        perpetrator = index.resolve(row.perpetrator) if row.perpetrator else None
        cases.setdefault((victim.id, perpetrator.id if perpetrator else None, row.heard_on), row)


async def _known_cases(conference_id: str, victim_ids: list[str]) -> set[tuple[str, str | None, date]]:
    """The earlier cases already loaded about these victims (only existing entries can have any)."""
    known: set[tuple[str, str | None, date]] = set()
    for chunk in _chunks(sorted(victim_ids)):
        found = await EarlierCase.filter(conference_id=conference_id, victim_person_id__in=list(chunk)).values_list(
            "victim_person_id", "perpetrator_person_id", "heard_on"
        )
        known |= {(str(v), str(p) if p else None, h) for v, p, h in found}
    return known


async def _finish(
    upload: HistoryImport,
    *,
    problems: list[str] | None = None,
    message: str | None = None,
    rows: int = 0,
    added: int = 0,
    skipped: int = 0,
    conn: BaseDBAsyncClient | None = None,
) -> HistoryImport:
    """Keep the outcome, forget the file (it holds names and dates of birth), and audit it."""
    upload.status = "failed" if problems else "done"
    upload.problems, upload.message = problems or [], message[:200] if message else None
    upload.rows, upload.added, upload.skipped = rows, added, skipped
    upload.progress, upload.content, upload.finished_at = 100, None, now()

    async def write(conn: BaseDBAsyncClient) -> None:
        await upload.save(using_db=conn)
        await record(
            "history.import",
            user_id=upload.requested_by,
            object_type="history_import",
            object_id=upload.id,
            conference_id=upload.conference_id,
            outcome="failed" if problems else "ok",
            conn=conn,
        )

    if conn is not None:
        await write(conn)
    else:
        async with in_transaction() as own:
            await write(own)
    return upload


async def find(viewer: Viewer, conference: Conference, import_id: str) -> HistoryImport:
    """One of the conference's imports, for its coordinator; 404 otherwise."""
    access.require_history(viewer, conference.id)
    found = None
    if ID_PATTERN.fullmatch(import_id):
        found = await HistoryImport.get_or_none(id=import_id, conference_id=conference.id)
    if found is None:
        raise NotFound("Import not found")
    return found


async def imports_of(viewer: Viewer, conference: Conference) -> list[HistoryImport]:
    access.require_history(viewer, conference.id)
    return await HistoryImport.filter(conference_id=conference.id).order_by("-created_at").limit(20)


def ended(upload: HistoryImport) -> bool:
    return upload.status in ("done", "failed")


async def earlier_case_of(
    conference_id: str,
    victim_id: str,
    perpetrator_ids: AbstractSet[str],
    incident: date,
    type_settings: dict,
    conn: BaseDBAsyncClient | None = None,
) -> EarlierCase | None:
    """The last earlier case that makes a referral with this incident date a repeat: the same people
    as the type's repeat.match names, heard within its window before the incident. A referral
    received on heard_on would count the same (service._repeat_of)."""
    match = set(type_settings["repeat"]["match"])
    if "location" in match or not match & {"victim", "perpetrator"}:
        return None  # a history file holds no location: such a conference never matches one
    months = int(type_settings["repeat"]["window_months"])
    # A few days' margin for month ends; within_window decides.
    query = EarlierCase.filter(
        conference_id=conference_id,
        heard_on__lte=incident,
        heard_on__gte=rules.add_months(incident, -months - 1),
    )
    if "victim" in match:
        query = query.filter(victim_person_id=victim_id)
    if "perpetrator" in match:
        if not perpetrator_ids:
            return None
        query = query.filter(perpetrator_person_id__in=sorted(perpetrator_ids))
    for case in await query.order_by("-heard_on").using_db(conn):
        if rules.within_window(case.heard_on, incident, months):
            return case
    return None
