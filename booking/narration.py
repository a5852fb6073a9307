"""The audit log told as sentences in London time, one per action: "Sam Organiser changed
Standard's price from £10.00 to £12.00". No ids, no raw timestamps, no field names.

Each action has a function here; an action without one still reads as words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from booking.domain import devices
from booking.domain.activity import Names
from booking.models import AuditEntry
from booking.templating import LocalTime, money_exact

ACTORS = {"system": "Booking", "buyer": "The buyer", "stripe": "Stripe", "": "Booking"}

# What a changed field is called in a sentence, and how its value reads.
LABELS = {
    "title": "title",
    "slug": "web address",
    "strapline": "strapline",
    "description": "description",
    "starts_at": "start",
    "ends_at": "end",
    "doors_at": "doors time",
    "venue_id": "venue",
    "organisers": "organisers",
    "capacity": "capacity",
    "contact_email": "contact email",
    "buyer_cancel_allowed": "buyer cancellation",
    "buyer_cancel_cutoff_hours": "cancellation cut-off",
    "reminder_on": "reminder email",
    "reminder_hours": "reminder time",
    "thank_you_on": "thank-you email",
    "thank_you_came": "thank-you text",
    "thank_you_missed": "text for those who did not come",
    "questions_on": "questions for the panel",
    "questions_close_hours": "questions deadline",
    "name": "name",
    "price": "price",
    "sales_start": "sales start",
    "sales_end": "sales end",
    "max_per_order": "limit per order",
    "visible": "visibility",
    "position": "position",
    "affiliation": "affiliation",
    "bio": "biography",
    "url": "web link",
    "role": "role",
    "attendee_name": "name",
    "amount_refunded": "amount refunded",
    "refund_due": "refund due",
    "status": "status",
    "more_speakers_tba": "more speakers to be announced",
    "hero_image": "image",
    "access_place": "kind of place",
    "companion_free": "free companion seat",
    "step_free": "step-free access",
    "accessible_toilet": "accessible toilet",
    "hearing_loop": "hearing loop",
    "wheelchair_note": "wheelchair spaces note",
    "access_note": "access note",
}
PLACES = {"": "a seat", "wheelchair": "a wheelchair space", "companion": "a companion seat"}
MONEY = {"price", "amount", "amount_refunded", "refund_due", "to_refund", "discount_amount"}
UNSHOWN = {"description", "organisers", "bio", "hero_image"}  # "changed the biography"


def _join(parts: list[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


class Narrator:
    """Sentences for audit entries, with the names read by `activity.names_for`."""

    def __init__(self, clock: LocalTime, names: Names, currency: str = "GBP") -> None:
        self.clock, self.names, self.currency = clock, names, currency

    # Pieces -------------------------------------------------------------------------------

    def who(self, entry: AuditEntry) -> str:
        if entry.actor_id and entry.actor_id in self.names.users:
            return self.names.users[entry.actor_id]
        return ACTORS.get(entry.actor, entry.actor)

    def money(self, pence: object) -> str:
        return money_exact(pence, self.currency) if isinstance(pence, int) else "nothing"

    def when(self, iso: object) -> str:
        """A stored ISO time as "8:23pm" in London."""
        try:
            return self.clock.time(datetime.fromisoformat(str(iso)))
        except ValueError:
            return "an unknown time"

    def device(self, key: object) -> str:
        return devices.label(self.names.devices, str(key or ""))

    def ticket(self, entry: AuditEntry) -> str:
        found = self.names.tickets.get(entry.subject_id or 0)
        if found is None:
            return "a ticket"
        name, ref = found
        return f"{name}'s ticket ({ref})" if name else f"ticket {ref}"

    def value(self, key: str, value: Any) -> str:
        if key == "access_place":
            return PLACES.get(str(value or ""), str(value))
        if value is None or value == "":
            return {"capacity": "no limit", "sales_start": "when published"}.get(key, "none")
        if key in MONEY:
            return self.money(value)
        if isinstance(value, bool):
            return "on" if value else "off"
        if key.endswith(("_at", "_start", "_end")):
            try:
                when = datetime.fromisoformat(str(value))
            except ValueError:
                return str(value)
            return f"{self.clock.short_date(when)}, {self.clock.time(when)}"
        if key == "venue_id":
            return self.names.venues.get(value, "another venue")
        if key == "buyer_cancel_cutoff_hours":
            return f"{value} hours before"
        if isinstance(value, dict) and "amount" in value:
            return self.money(value["amount"])
        if isinstance(value, list):
            return _join([str(v) for v in value]) or "none"
        if isinstance(value, str):
            return f"“{value}”"
        return str(value)

    def changes(self, data: dict[str, Any], *, skip: tuple[str, ...] = ()) -> list[str]:
        """["the price from £10.00 to £12.00", …] for each before/after pair in `data`."""
        parts = []
        for key, change in data.items():
            if key in skip or not (isinstance(change, dict) and set(change) == {"before", "after"}):
                continue
            label = LABELS.get(key, key.replace("_", " "))
            if key in UNSHOWN:
                parts.append(f"the {label}")
            else:
                before, after = self.value(key, change["before"]), self.value(key, change["after"])
                parts.append(f"the {label} from {before} to {after}")
        return parts

    # Sentences ----------------------------------------------------------------------------

    def sentence(self, entry: AuditEntry) -> str:
        data = dict(entry.data or {})
        tell = SENTENCES.get(entry.action)
        if tell is not None:
            try:
                return tell(self, entry, data)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # an older shape of this entry's data: say it plainly below
        what = entry.action.split(".")[-1].replace("_", " ")
        subject = entry.subject_type.replace("_", " ")
        name = data.get("name")
        about = f" {name}" if isinstance(name, str) and name else ""
        text = f"{self.who(entry)}: {subject}{about} {what}"
        changed = self.changes(data)
        return text + (f" ({_join(changed)})" if changed else "")


def _event_updated(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    parts = n.changes(d)
    return f"{n.who(e)} changed " + (_join(parts) if parts else "the event's details")


def _type_updated(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    name = d.get("name")
    if isinstance(name, dict):  # renamed
        text = f"{n.who(e)} renamed the ticket type {n.value('name', name['before'])} to "
        text += n.value("name", name["after"])
        rest = n.changes(d, skip=("name",))
        return text + (f" and changed its {_join([p[4:] for p in rest])}" if rest else "")
    visible = d.get("visible")
    parts = _possessive(str(name), n.changes(d, skip=("visible",)))
    if isinstance(visible, dict):
        parts.append(f"{'showed' if visible['after'] else 'hid'} {name}")
        if len(parts) == 1:
            return f"{n.who(e)} {parts[0]}"
    return f"{n.who(e)} changed {_join(parts)}"


def _possessive(name: str, parts: list[str]) -> list[str]:
    """["the price from …", "the capacity …"] -> ["Standard's price from …", "capacity …"]"""
    bare = [p.removeprefix("the ") for p in parts]
    return [f"{name}'s {bare[0]}", *bare[1:]] if bare else []


def _speaker_updated(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    name = d.pop("name", "a speaker")
    if d.get("bio") == "changed":
        d["bio"] = {"before": "", "after": ""}
    parts = _possessive(str(name), n.changes(d))
    return f"{n.who(e)} changed " + (_join(parts) if parts else f"{name}'s details")


def _type_created(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    capacity = d.get("capacity")
    places = "no limit" if capacity is None else f"{capacity} places"
    return f"{n.who(e)} added the ticket type {d['name']} at {n.money(d['price'])}, {places}"


def _admitted(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    how = " (scanned offline)" if d.get("offline") else ""
    return f"{n.who(e)} admitted {n.ticket(e)} on {n.device(d['device'])} at {n.when(d['at'])}{how}"


def _undone(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    text = f"{n.who(e)} undid the admission of {n.ticket(e)}"
    if "device" in d and "at" in d:
        text += f" on {n.device(d['device'])} at {n.when(d['at'])}"
    if d.get("now_standing"):
        text += f"; the admission on {n.device(d['now_standing'])} now counts"
    return text


def _twice(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    if "first" in d:
        first, second = d["first"], d["second"]
        sides = (
            f"on {n.device(first['device'])} at {n.when(first['at'])} and on "
            f"{n.device(second['device'])} at {n.when(second['at'])}"
        )
    else:  # entries made before both sides were recorded
        sides = f"the second on {n.device(d['device'])} at {n.when(d['at'])}"
    found = n.names.tickets.get(e.subject_id or 0)
    which = ", ".join(x for x in found if x) if found else "a ticket"
    return f"Admitted twice while offline: {sides} ({which})"


def _withdrawn(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    return (
        f"{n.who(e)} withdrew the second admission of {n.ticket(e)} on "
        f"{n.device(d['device'])} at {n.when(d['at'])}; the first still counts"
    )


def _cancelled(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    text = f"{n.who(e)} cancelled the order"
    refund = d.get("refund")
    if isinstance(refund, dict) and refund.get("amount"):
        text += f" and refunded {n.money(refund['amount'])}"
    reason = d.get("reason")
    return text + (f": {reason}" if reason else "")


def _refunded_tickets(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    count = len(d.get("tickets") or [])
    text = f"{n.who(e)} refunded {count} ticket{'' if count == 1 else 's'}"
    if d.get("tickets"):
        text += f" ({_join(list(d['tickets']))})"
    refund = d.get("refund")
    if isinstance(refund, dict) and refund.get("amount"):
        text += f", {n.money(refund['amount'])}"
    return text + (f": {d['reason']}" if d.get("reason") else "")


def _refund_totals(n: Narrator, e: AuditEntry, d: dict[str, Any], lead: str) -> str:
    total = d.get("amount_refunded")
    after = total["after"] if isinstance(total, dict) else total
    return f"{lead}; {n.money(after)} refunded in all" if isinstance(after, int) else lead


def _released(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    count = len(d.get("tickets") or [])
    text = f"The buyer released {count} ticket{'' if count == 1 else 's'}"
    refund = d.get("refund")
    if isinstance(refund, dict) and refund.get("amount"):
        return text + f" and was refunded {n.money(refund['amount'])}"
    if d.get("terms") == "resale":
        return text + ", to be refunded if someone from the waiting list takes the seats"
    return text


def _waitlist_configured(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
    parts = []
    if isinstance(d.get("paused"), dict):
        parts.append("paused" if d["paused"]["after"] else "resumed")
        parts[-1] += " the waiting list's offers"
    if isinstance(d.get("offer_hours"), dict):
        parts.append(f"gave offers {d['offer_hours']['after']} hours")
    return f"{n.who(e)} " + (_join(parts) if parts else "saved the waiting list's settings")


def _simple(template: str) -> Callable[[Narrator, AuditEntry, dict[str, Any]], str]:
    """A sentence from a template: {who}, {name} and any of the entry's plain values."""

    def tell(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
        plain = {k: v for k, v in d.items() if not isinstance(v, dict)}
        return template.format(**{"name": "", **plain, "who": n.who(e), "ticket": n.ticket(e)})

    return tell


def _money_sentence(
    template: str, key: str
) -> Callable[[Narrator, AuditEntry, dict[str, Any]], str]:
    def tell(n: Narrator, e: AuditEntry, d: dict[str, Any]) -> str:
        return template.format(
            who=n.who(e),
            money=n.money(d.get(key)),
            **{k: v for k, v in d.items() if isinstance(v, str)},
        )

    return tell


SENTENCES: dict[str, Callable[[Narrator, AuditEntry, dict[str, Any]], str]] = {
    "event.created": _simple("{who} created the event “{title}”"),
    "event.updated": _event_updated,
    "event.published": _simple("{who} published the event"),
    "event.unpublished": _simple("{who} took the event back to draft"),
    "event.hero_image_changed": _simple("{who} changed the event's image"),
    "event.hero_image_removed": _simple("{who} removed the event's image"),
    "event.cancelled": _simple("{who} cancelled the event ({paid_orders} paid orders)"),
    "event.cancellation_restarted": _simple("{who} restarted the cancellation of {orders} orders"),
    "event.more_speakers_tba_changed": lambda n, e, d: (
        f"{n.who(e)} said "
        + ("more speakers are" if d["more_speakers_tba"]["after"] else "no more speakers are")
        + " to be announced"
    ),
    "ticket_type.created": _type_created,
    "ticket_type.updated": _type_updated,
    "ticket_type.moved": lambda n, e, d: (
        f"{n.who(e)} moved {d['name']} to position {d['position']['after']}"
    ),
    "ticket_type.shown": _simple("{who} showed the ticket type {name}"),
    "ticket_type.hidden": _simple("{who} hid the ticket type {name}"),
    "speaker.added": _simple("{who} added {name} as {role}"),
    "speaker.updated": _speaker_updated,
    "speaker.photo_changed": _simple("{who} changed {name}'s photo"),
    "speaker.removed": _simple("{who} took {name} off the event"),
    "speaker.moved": lambda n, e, d: (
        f"{n.who(e)} moved {d['name']} to position {d['position']['after']}"
    ),
    "speaker.shown": _simple("{who} showed {name} on the event page"),
    "speaker.hidden": _simple("{who} hid {name} from the event page"),
    "announcement.sent": _simple("{who} told {recipients} ticket holders about {name}"),
    "promo_link.created": _simple("{who} made the promo link “{label}” (/t/{code})"),
    "access_code.created": _simple("{who} made the code {code}"),
    "order.confirmation_resent": _simple("{who} sent the confirmation email again to {to}"),
    "order.cancelled": _cancelled,
    "order.email_changed": lambda n, e, d: (
        f"{n.who(e)} changed the buyer's email address from "
        f"{d['buyer_email']['before']} to {d['buyer_email']['after']}"
    ),
    "order.complimentary_issued": _simple(
        "{who} gave {name} {tickets} complimentary {ticket_type} ticket(s) from the guest list"
    ),
    "order.complimentary_cancelled": _simple(
        "{who} cancelled {name}'s {tickets} complimentary ticket(s)"
    ),
    "question.asked": _simple("The buyer sent a question for the panel"),
    "question.edited": _simple("The buyer changed their question for the panel"),
    "question.withdrawn": _simple("The buyer withdrew their question for the panel"),
    "question.accepted": _simple("{who} accepted a question for the panel"),
    "question.rejected": _simple("{who} rejected a question for the panel"),
    "question.reopened": _simple("{who} put a question for the panel back to be decided"),
    "question.starred": _simple("{who} starred a question for the panel"),
    "question.unstarred": _simple("{who} took the star off a question for the panel"),
    "question.themed": _simple("{who} set the theme of a question to “{theme}”"),
    "question.moved": _simple("{who} moved a question in the chair's running order"),
    "chair_link.made": _simple("{who} made a new private link for the chair"),
    "chair_link.revoked": _simple("{who} stopped the chair's private link working"),
    "message.sent": _simple("{who} wrote “{subject}” to {recipients} ticket holders ({to})"),
    "order.tickets_refunded": _refunded_tickets,
    "order.refunded": lambda n, e, d: _refund_totals(
        n, e, d, f"{n.who(e)} refunded the order because the event was cancelled"
    ),
    "order.refund_reported": lambda n, e, d: _refund_totals(
        n, e, d, "Stripe reported refunds on the payment"
    ),
    "refund.succeeded": _money_sentence("Stripe made the refund of {money}", "amount"),
    "refund.failed": _money_sentence("Stripe refused the refund of {money}: {error}", "amount"),
    "order.access_needs_changed": lambda n, e, d: (
        f"{n.who(e)} changed the access needs from "
        f"{d['needs']['before'] or 'none'} to {d['needs']['after'] or 'none'}"
    ),
    "refund.recorded": _money_sentence(
        "Stripe reported a refund of {money} made in its dashboard", "amount"
    ),
    "refund.replaced": _money_sentence(
        "A refund of {money}, what was left of the payment, replaced one Stripe refused",
        "amount",
    ),
    "ticket.renamed": lambda n, e, d: (
        f"{n.who(e)} changed the name on ticket {d['ticket']} from "
        f"{n.value('name', d['attendee_name']['before'])} to "
        f"{n.value('name', d['attendee_name']['after'])}"
    ),
    "ticket.admitted": _admitted,
    "ticket.admission_undone": _undone,
    "ticket.admitted_twice": _twice,
    "ticket.duplicate_withdrawn": _withdrawn,
    "order.seats_released": _released,
    "order.released_seat_refunded": lambda n, e, d: (
        f"Someone from the waiting list took a released seat ({_join(list(d['tickets']))}); "
        f"{n.money(d['refund']['amount'])} refunded"
    ),
    "waitlist.offered": _simple("{who} offered {email} {quantity} ticket(s) from the waiting list"),
    "waitlist.offer_lapsed": _simple("The waiting-list offer to {email} lapsed untaken"),
    "waitlist.left": _simple("{email} left the waiting list"),
    "waitlist.moved_up": _simple("{who} moved {email} up the waiting list, ahead of {passed}"),
    "waitlist.configured": _waitlist_configured,
    "user.invited": _simple("{who} invited {email}"),
    "user.deactivated": _simple("{who} switched off {email}'s account"),
    "user.reactivated": _simple("{who} switched {email}'s account back on"),
}
