"""An event's speaker list: add (new or someone who has spoken before), edit, reorder,
show or hide, remove; and the "and others to be announced" line.

A Speaker row is shared by every event they speak at (name, photo, web page, and the wording
offered when they are next added); EventSpeaker places them on one event with a role, a
position, a visibility and this event's job title and biography.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from booking.domain import audit, inputs
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import (
    Announcement,
    Event,
    EventSpeaker,
    Speaker,
    SpeakerRole,
    SpeakerVisibility,
    User,
)


@dataclass(frozen=True)
class Place:
    """A speaker on one event's list, with when they were last announced."""

    place: EventSpeaker
    speaker: Speaker
    announced_at: datetime | None

    @property
    def affiliation(self) -> str:
        return self.place.affiliation

    @property
    def bio(self) -> str:
        return self.place.bio


@dataclass
class SpeakerFields:
    name: str = ""
    affiliation: str = ""
    bio: str = ""
    url: str = ""


def read_form(raw: Mapping[str, str]) -> tuple[SpeakerFields, dict[str, str]]:
    """A new or edited speaker's details, and any messages by field name."""
    errors = inputs.Errors()
    f = SpeakerFields()
    f.name = (
        errors.take(
            "name",
            lambda: inputs.text(
                raw.get("name"), name="Full name", limit=200, missing="Enter the speaker's name"
            ),
        )
        or ""
    )
    f.affiliation = (
        errors.take(
            "affiliation",
            lambda: inputs.text(raw.get("affiliation"), name="Job or organisation", limit=300),
        )
        or ""
    )
    f.bio = (
        errors.take("bio", lambda: inputs.paragraphs(raw.get("bio"), name="Biography", limit=2000))
        or ""
    )
    url = errors.take("url", lambda: inputs.text(raw.get("url"), name="Web page", limit=500)) or ""
    if url and not url.startswith(("https://", "http://")):
        errors["url"] = "Enter a web page address starting with https://"
    f.url = url
    return f, dict(errors)


def lineup(session: Session, *, event_id: int) -> list[Place]:
    """Everyone on the event's list in order, hidden ones included."""
    announced = dict(
        session.exec(
            select(Announcement.speaker_id, func.max(Announcement.created_at))
            .where(Announcement.event_id == event_id)
            .group_by(col(Announcement.speaker_id))
        ).all()
    )
    return [
        Place(es, sp, announced.get(sp.id))
        for es, sp in session.exec(
            select(EventSpeaker, Speaker)
            .join(Speaker)
            .where(EventSpeaker.event_id == event_id)
            .order_by(col(EventSpeaker.position), col(EventSpeaker.id))
        ).all()
    ]


def place(session: Session, *, event_id: int, speaker_id: int) -> Place:
    """One speaker on one event. Raises NotFound."""
    for item in lineup(session, event_id=event_id):
        if item.speaker.id == speaker_id:
            return item
    raise NotFound("This speaker is not on this event")


def candidates(session: Session, *, event_id: int) -> list[Speaker]:
    """People who have spoken before and are not on this event yet, by name."""
    on_event = select(EventSpeaker.speaker_id).where(EventSpeaker.event_id == event_id)
    return list(
        session.exec(
            select(Speaker)
            .where(col(Speaker.id).not_in(on_event))
            .order_by(func.lower(Speaker.name), col(Speaker.id))
        ).all()
    )


def add_new(
    session: Session,
    *,
    event_id: int,
    fields: SpeakerFields,
    role: SpeakerRole,
    actor: User,
    now: datetime,
    photo: str = "",
) -> Speaker:
    """Create a speaker and put them last on the event's list. Raises NotFound."""
    with session.begin():
        speaker = Speaker(**vars(fields), photo=photo)
        session.add(speaker)
        session.flush()
        assert speaker.id is not None
        _place(session, event_id, speaker, role, actor=actor, now=now)
    return speaker


def add_existing(
    session: Session,
    *,
    event_id: int,
    speaker_id: int,
    role: SpeakerRole,
    actor: User,
    now: datetime,
) -> Speaker:
    """Put someone who has spoken before last on the event's list.

    Raises InvalidInput (no such speaker) or Conflict (already on this event).
    """
    with session.begin():
        speaker = session.get(Speaker, speaker_id)
        if speaker is None:
            raise InvalidInput({"speaker_id": "Select a speaker from the list"})
        _place(session, event_id, speaker, role, actor=actor, now=now)
    return speaker


def _place(
    session: Session,
    event_id: int,
    speaker: Speaker,
    role: SpeakerRole,
    *,
    actor: User,
    now: datetime,
) -> None:
    if session.get(Event, event_id) is None:
        raise NotFound("No event at this address")
    taken = session.exec(
        select(EventSpeaker.id).where(
            EventSpeaker.event_id == event_id, EventSpeaker.speaker_id == speaker.id
        )
    ).first()
    if taken is not None:
        raise Conflict(f"{speaker.name} is already on this event")
    last = session.exec(
        select(func.max(EventSpeaker.position)).where(EventSpeaker.event_id == event_id)
    ).one()
    assert speaker.id is not None
    session.add(
        EventSpeaker(
            event_id=event_id,
            speaker_id=speaker.id,
            role=role,
            position=(last + 1) if last is not None else 0,
            affiliation=speaker.affiliation,
            bio=speaker.bio,
            added_at=now,
        )
    )
    _audit(session, "speaker.added", event_id, speaker, actor, now, {"role": str(role)})


def update(
    session: Session,
    *,
    event_id: int,
    speaker_id: int,
    fields: SpeakerFields,
    role: SpeakerRole,
    actor: User,
    now: datetime,
) -> Speaker:
    """Save a speaker's details: name and web page on every event; job, biography and role
    on this event only (they also become the wording offered when the speaker is next added
    to an event). Raises NotFound."""
    with session.begin():
        item = place(session, event_id=event_id, speaker_id=speaker_id)
        speaker, es = item.speaker, item.place
        before = {
            "name": speaker.name,
            "affiliation": es.affiliation,
            "bio": es.bio,
            "url": speaker.url,
            "role": str(es.role),
        }
        for key, value in vars(fields).items():
            setattr(speaker, key, value)
        es.affiliation, es.bio = fields.affiliation, fields.bio
        es.role = role
        session.add(speaker)
        session.add(es)
        after = {**vars(fields), "role": str(role)}
        changed = audit.changes(before, after)
        if "bio" in changed:
            changed["bio"] = "changed"
        if changed:
            _audit(session, "speaker.updated", event_id, speaker, actor, now, changed)
    return speaker


def set_photo(
    session: Session, *, event_id: int, speaker_id: int, path: str, actor: User, now: datetime
) -> str:
    """Point the speaker at a stored photo ("" removes it); returns the previous path."""
    with session.begin():
        speaker = place(session, event_id=event_id, speaker_id=speaker_id).speaker
        previous = speaker.photo
        speaker.photo = path
        session.add(speaker)
        _audit(session, "speaker.photo_changed", event_id, speaker, actor, now, {})
    return previous


def remove(
    session: Session, *, event_id: int, speaker_id: int, actor: User, now: datetime
) -> Speaker:
    """Take a speaker off this event (they stay on the list of people to pick from)."""
    with session.begin():
        item = place(session, event_id=event_id, speaker_id=speaker_id)
        session.delete(item.place)
        _audit(session, "speaker.removed", event_id, item.speaker, actor, now, {})
    return item.speaker


def move(
    session: Session, *, event_id: int, speaker_id: int, offset: int, actor: User, now: datetime
) -> None:
    """Move a speaker one place up (offset -1) or down (+1); at either end, nothing."""
    with session.begin():
        items = lineup(session, event_id=event_id)
        ids = [i.speaker.id for i in items]
        if speaker_id not in ids:
            raise NotFound("This speaker is not on this event")
        at = ids.index(speaker_id)
        to = at + (1 if offset > 0 else -1)
        if not 0 <= to < len(items):
            return
        items[at], items[to] = items[to], items[at]
        for position, item in enumerate(items):
            item.place.position = position
            session.add(item.place)
        data: dict[str, object] = {"position": {"before": at + 1, "after": to + 1}}
        _audit(session, "speaker.moved", event_id, items[to].speaker, actor, now, data)


def set_visibility(
    session: Session,
    *,
    event_id: int,
    speaker_id: int,
    visibility: SpeakerVisibility,
    actor: User,
    now: datetime,
) -> None:
    """Show a speaker on the public page (confirmed) or keep them off it (hidden)."""
    with session.begin():
        item = place(session, event_id=event_id, speaker_id=speaker_id)
        if item.place.visibility != visibility:
            item.place.visibility = visibility
            session.add(item.place)
            action = (
                "speaker.shown" if visibility == SpeakerVisibility.CONFIRMED else "speaker.hidden"
            )
            _audit(session, action, event_id, item.speaker, actor, now, {})


def set_more_to_be_announced(
    session: Session, *, event_id: int, value: bool, actor: User, now: datetime
) -> None:
    """Switch the public page's "and others to be announced" line on or off."""
    with session.begin():
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound("No event at this address")
        if event.more_speakers_tba != value:
            event.more_speakers_tba = value
            session.add(event)
            audit.record(
                session,
                "event.more_speakers_tba_changed",
                subject_type="event",
                subject_id=event_id,
                actor=actor,
                now=now,
                event_id=event_id,
                data={"more_speakers_tba": {"before": not value, "after": value}},
            )


def _audit(
    session: Session,
    action: str,
    event_id: int,
    speaker: Speaker,
    actor: User,
    now: datetime,
    data: dict[str, object],
) -> None:
    audit.record(
        session,
        action,
        subject_type="speaker",
        subject_id=speaker.id,
        actor=actor,
        now=now,
        event_id=event_id,
        data={"name": speaker.name, **data},
    )
