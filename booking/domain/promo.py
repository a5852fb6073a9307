"""Promo links for articles: short codes that land on the event page, visits counted per
link (people and bots apart, a reload counted once), and the sales each link brought."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import (
    AccessCode,
    Event,
    EventOrganiser,
    EventStatus,
    Order,
    PromoLink,
    PromoVisit,
)

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
READABLE = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0, 1
VISIT_WINDOW = timedelta(minutes=30)
BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|embedly|preview|curl|wget|python|httpx|"
    r"java/|go-http|headless|monitor|pingdom|scrapy|feedfetcher|whatsapp|slackbot|telegram",
    re.I,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT_RE.search(user_agent))


def new_code() -> str:
    return "".join(secrets.choice(READABLE) for _ in range(6))


def create_link(
    session: Session,
    *,
    event_id: int,
    label: str,
    organisation_id: int | None,
    now: datetime,
    code: str = "",
    access_code_id: int | None = None,
) -> PromoLink:
    """A new link. `code` may be chosen (letters, digits, dashes) or is generated.
    Raises InvalidInput (also for an organisation or access code not of this event),
    NotFound (no such event) or Conflict (the code is taken)."""
    label = " ".join(label.split())
    clean = code.strip().lower()
    errors = {}
    if not label:
        errors["label"] = "Enter a label, like the article's headline"
    elif len(label) > 300:
        errors["label"] = "Label must be 300 characters or fewer"
    if clean and not CODE_RE.match(clean):
        errors["code"] = "Code must be 2 to 40 letters, numbers or dashes"
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        _check_choices(
            session,
            event_id=event_id,
            organisation_id=organisation_id,
            access_code_id=access_code_id,
        )
        for _ in range(5):
            chosen = clean or new_code()
            if session.exec(select(PromoLink).where(PromoLink.code == chosen)).first() is None:
                break
            if clean:
                raise Conflict(f"The code {clean} is already used by another link")
        link = PromoLink(
            event_id=event_id,
            organisation_id=organisation_id,
            code=chosen,
            label=label,
            access_code_id=access_code_id,
            created_at=now,
        )
        session.add(link)
        session.flush()
    return link


def _check_choices(
    session: Session, *, event_id: int, organisation_id: int | None, access_code_id: int | None
) -> None:
    """Ids picked from the form's lists must be this event's (a stale or forged form may not)."""
    if session.get(Event, event_id) is None:
        raise NotFound("No such event")
    errors = {}
    if organisation_id is not None and (
        session.get(EventOrganiser, (event_id, organisation_id)) is None
    ):
        errors["organisation_id"] = "Choose an organisation from the list"
    code = session.get(AccessCode, access_code_id) if access_code_id is not None else None
    if access_code_id is not None and (code is None or code.event_id != event_id):
        errors["access_code_id"] = "Choose an access code from the list"
    if errors:
        raise InvalidInput(errors)


def resolve(session: Session, *, code: str) -> tuple[PromoLink, Event] | None:
    """The active link for a code (any case) and its public event, or None."""
    clean = code.strip().lower()
    if not CODE_RE.match(clean):
        return None
    row = session.exec(
        select(PromoLink, Event)
        .join(Event, col(Event.id) == PromoLink.event_id)
        .where(PromoLink.code == clean)
    ).first()
    if row is None or not row[0].active or row[1].status == EventStatus.DRAFT:
        return None
    return row[0], row[1]


@dataclass(frozen=True)
class Visit:
    event_id: int
    source: str
    visitor: str
    bot: bool
    promo_link_id: int | None = None


def visitor_hash(visitor_id: str) -> str:
    return hashlib.sha256(visitor_id.encode()).hexdigest()[:32]


def record_visit(session: Session, *, visit: Visit, now: datetime) -> bool:
    """Count a visit once per visitor, source and 30-minute window; True if it counted."""
    bucket = int(now.timestamp() // VISIT_WINDOW.total_seconds())
    key = f"{visit.event_id}:{visit.source}:{visit.visitor}:{int(visit.bot)}:{bucket}"[:200]
    try:
        with session.begin():
            session.add(
                PromoVisit(
                    event_id=visit.event_id,
                    promo_link_id=visit.promo_link_id,
                    source=visit.source[:200],
                    visitor=visit.visitor,
                    bot=visit.bot,
                    at=now,
                    dedupe_key=key,
                )
            )
        return True
    except IntegrityError:
        return False


def utm_source(params: dict[str, str]) -> str:
    """ "utm:source/medium/campaign" from utm_* parameters, or "" if there are none."""
    parts = [params.get(k, "").strip()[:60] for k in ("utm_source", "utm_medium", "utm_campaign")]
    if not any(parts):
        return ""
    return "utm:" + "/".join(parts)


def get_link(session: Session, *, event_id: int, link_id: int) -> PromoLink:
    """One of the event's links. Raises NotFound."""
    link = session.get(PromoLink, link_id)
    if link is None or link.event_id != event_id:
        raise NotFound("No promo link at this address")
    return link


def link_used(session: Session, *, link_id: int) -> bool:
    """True once anyone has followed the link or an order came through it."""
    visit = session.exec(select(PromoVisit.id).where(PromoVisit.promo_link_id == link_id)).first()
    order = session.exec(select(Order.id).where(Order.promo_link_id == link_id)).first()
    return visit is not None or order is not None


def update_link(
    session: Session,
    *,
    event_id: int,
    link_id: int,
    label: str,
    organisation_id: int | None,
    access_code_id: int | None,
) -> dict[str, Any]:
    """Change a link's label, organisation or carried code (its short code stays: it is in
    articles already). Returns what changed. Raises NotFound or InvalidInput."""
    label = " ".join(label.split())
    if not label:
        raise InvalidInput({"label": "Enter a label, like the article's headline"})
    if len(label) > 300:
        raise InvalidInput({"label": "Label must be 300 characters or fewer"})
    with session.begin():
        link = get_link(session, event_id=event_id, link_id=link_id)
        if access_code_id is not None:
            code = session.get(AccessCode, access_code_id)
            if code is None or code.event_id != event_id:
                raise InvalidInput({"access_code_id": "Choose one of this event's codes"})
        after: dict[str, Any] = {
            "label": label,
            "organisation_id": organisation_id,
            "access_code_id": access_code_id,
        }
        before = {key: getattr(link, key) for key in after}
        for key, value in after.items():
            setattr(link, key, value)
        session.add(link)
    return {k: {"before": before[k], "after": v} for k, v in after.items() if before[k] != v}


def set_link_active(session: Session, *, event_id: int, link_id: int, active: bool) -> PromoLink:
    """Switch a link off (it then lands on nothing) or back on. Raises NotFound."""
    with session.begin():
        link = get_link(session, event_id=event_id, link_id=link_id)
        link.active = active
        session.add(link)
    return link


def delete_link(session: Session, *, event_id: int, link_id: int) -> PromoLink:
    """Delete a link nobody has followed. Raises NotFound, or Conflict once it has visits
    or orders (switch it off instead, so its figures stay)."""
    with session.begin():
        link = get_link(session, event_id=event_id, link_id=link_id)
        assert link.id is not None
        if link_used(session, link_id=link.id):
            raise Conflict(
                f"“{link.label}” has visits or orders, so it cannot be deleted. "
                "Switch it off instead"
            )
        session.delete(link)
    return link
