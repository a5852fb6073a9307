"""The demo data: the seed article's debate, a free event and a past one. Safe to load twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, SQLModel, select

from booking.models import (
    Event,
    EventOrganiser,
    EventSpeaker,
    EventStatus,
    Organisation,
    SiteBrand,
    Speaker,
    SpeakerRole,
    TicketType,
    Venue,
)
from booking.settings import Settings

DEBATE_SLUG = "london-and-brexit"
DEBATE_DESCRIPTION = """\
Will leaving the European Union be good or bad for London? The capital voted to Remain by
60 per cent to 40, yet its economy, its workforce and its place in the world are all in play.

Two speakers who see it very differently make their case, then take **your questions from the
floor**. Bring a question, or send one in advance.

- Opening statements, then a chaired debate
- Questions from the audience
- Drinks afterwards at the venue bar
"""

M = TypeVar("M", bound=SQLModel)


def _get_or_create(
    session: Session, model: type[M], lookup: dict[str, object], **fields: object
) -> M:
    stmt = select(model)
    for key, value in lookup.items():
        stmt = stmt.where(getattr(model, key) == value)
    obj = session.exec(stmt).first()
    if obj is None:
        obj = model(**lookup, **fields)
        session.add(obj)
        session.flush()
    return obj


def _event_time(now: datetime, days: int, hour: int, minute: int, settings: Settings) -> datetime:
    local_day = (now + timedelta(days=days)).astimezone(settings.tz)
    local = local_day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local.astimezone(UTC)


DEMO_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 236 48" \
width="236" height="48" role="img" aria-label="On London Events">
<rect x="0" y="6" width="36" height="36" rx="18" fill="#ffffff"/>
<path d="M18 14 L28 34 L8 34 Z" fill="#c8102e"/>
<text x="46" y="31" fill="#ffffff" font-family="Georgia, 'Times New Roman', serif" \
font-size="24" font-weight="700">On London</text>
<text x="172" y="31" fill="#ffffff" font-family="Arial, sans-serif" font-size="13" \
font-weight="700" letter-spacing="1.5">EVENTS</text>
</svg>
"""


def _brand(session: Session, *, settings: Settings, now: datetime) -> None:
    """A plausible news site's look: On London's name, logo and red, and footer links."""
    if session.get(SiteBrand, 1) is not None:
        return
    folder = Path(settings.media_dir) / "brand"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo-logo.svg").write_text(DEMO_LOGO, encoding="utf-8")
    session.add(
        SiteBrand(
            id=1,
            site_name="On London Events",
            logo="/media/brand/demo-logo.svg",
            brand_colour="#c8102e",
            link_colour="#0b57a4",
            privacy_url="https://www.onlondon.co.uk/privacy-policy/",
            terms_url="https://www.onlondon.co.uk/terms/",
            contact_url="mailto:events@onlondon.example",
            legal_name="On London Ltd",
            postal_address="Conway Hall, 25 Red Lion Square\nLondon WC1R 4RL",
            updated_at=now,
        )
    )


def load(session: Session, *, settings: Settings, now: datetime) -> Event:
    """Create (or leave as it is) the demo data; returns the debate."""
    _brand(session, settings=settings, now=now)
    on_london = _get_or_create(
        session, Organisation, {"name": "On London"}, url="https://www.onlondon.co.uk"
    )
    society = _get_or_create(
        session,
        Organisation,
        {"name": "The London Society"},
        url="https://www.londonsociety.org.uk",
    )
    assert on_london.id is not None and society.id is not None
    hall = _get_or_create(
        session,
        Venue,
        {"name": "Conway Hall"},
        address="25 Red Lion Square",
        locality="London",
        postcode="WC1R 4RL",
        map_url="https://www.openstreetmap.org/?mlat=51.5196&mlon=-0.1187#map=18/51.5196/-0.1187",
    )
    existing = session.exec(select(Event).where(Event.slug == DEBATE_SLUG)).first()
    if existing:
        return existing

    starts = _event_time(now, 30, 19, 0, settings)
    debate = Event(
        slug=DEBATE_SLUG,
        title="London and Brexit: will leaving the EU be good or bad for the capital?",
        strapline="Andrew Adonis and Daniel Moylan debate London's future outside the EU",
        description=DEBATE_DESCRIPTION,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=90),
        doors_at=starts - timedelta(minutes=30),
        venue_id=hall.id,
        status=EventStatus.PUBLISHED,
        more_speakers_tba=True,
        capacity=200,
        contact_email="events@onlondon.example",
        created_at=now - timedelta(days=7),
        buyer_cancel_allowed=True,
        buyer_cancel_cutoff_hours=48,
    )
    session.add(debate)
    session.flush()
    assert debate.id is not None
    for position, org_id in enumerate([on_london.id, society.id]):
        session.add(EventOrganiser(event_id=debate.id, organisation_id=org_id, position=position))
    speakers = [
        (
            "Andrew Adonis",
            "Anti-Brexit campaigner and former transport secretary",
            "Chair of the European Movement and a former Labour minister, he argues that leaving "
            "the EU will cost London jobs, talent and influence.",
        ),
        (
            "Daniel Moylan",
            "Former adviser to Boris Johnson as Mayor of London",
            "A former deputy chairman of Transport for London, he argues that London will thrive "
            "as a global city outside the EU.",
        ),
    ]
    for position, (name, affiliation, bio) in enumerate(speakers):
        speaker = _get_or_create(session, Speaker, {"name": name}, affiliation=affiliation, bio=bio)
        assert speaker.id is not None
        session.add(
            EventSpeaker(
                event_id=debate.id,
                speaker_id=speaker.id,
                position=position,
                role=SpeakerRole.SPEAKER,
                affiliation=affiliation,
                bio=bio,
            )
        )
    for position, (name, price, visible, desc) in enumerate(
        [
            ("Standard", 1000, True, ""),
            ("Concession", 500, True, "Students, under-26s, over-65s and people on benefits"),
            ("London Society members", 700, False, "Members of The London Society"),
        ]
    ):
        session.add(
            TicketType(
                event_id=debate.id,
                name=name,
                price=price,
                visible=visible,
                description=desc,
                max_per_order=6,
                position=position,
            )
        )

    free_starts = _event_time(now, 45, 18, 30, settings)
    free = Event(
        slug="london-plan-walk-and-talk",
        title="The London Plan: a free walk and talk",
        strapline="An evening walk through King's Cross with the people who planned it",
        description="A free guided walk followed by a short talk. Booking is required.",
        starts_at=free_starts,
        ends_at=free_starts + timedelta(hours=2),
        venue_id=hall.id,
        status=EventStatus.PUBLISHED,
        capacity=40,
        created_at=now - timedelta(days=3),
    )
    session.add(free)
    session.flush()
    assert free.id is not None
    session.add(EventOrganiser(event_id=free.id, organisation_id=society.id, position=0))
    session.add(TicketType(event_id=free.id, name="Free ticket", price=0, max_per_order=4))

    past_starts = _event_time(now, -60, 19, 0, settings)
    past = Event(
        slug="who-runs-london",
        title="Who runs London? City Hall, the boroughs and Whitehall",
        strapline="A debate on London's government",
        starts_at=past_starts,
        ends_at=past_starts + timedelta(minutes=90),
        venue_id=hall.id,
        status=EventStatus.PUBLISHED,
        capacity=150,
        created_at=now - timedelta(days=90),
    )
    session.add(past)
    session.flush()
    assert past.id is not None
    session.add(EventOrganiser(event_id=past.id, organisation_id=on_london.id, position=0))
    session.add(TicketType(event_id=past.id, name="Standard", price=800))
    session.commit()
    return debate
