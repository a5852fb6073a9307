"""schema.org Event JSON-LD and social-card metadata for an event page."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from booking.domain.catalogue import EventPage, SaleState
from booking.models import EventStatus

AVAILABILITY = {
    SaleState.ON_SALE: "https://schema.org/InStock",
    SaleState.FEW_LEFT: "https://schema.org/LimitedAvailability",
    SaleState.SOLD_OUT: "https://schema.org/SoldOut",
    SaleState.NOT_YET: "https://schema.org/PreOrder",
    SaleState.ENDED: "https://schema.org/SoldOut",
    SaleState.UNAVAILABLE: "https://schema.org/SoldOut",
}


def event_jsonld(page: EventPage, *, url: str, zone: Any, image: str | None) -> dict[str, Any]:
    event, venue = page.event, page.venue
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "startDate": event.starts_at.astimezone(zone).isoformat(),
        "eventStatus": "https://schema.org/EventCancelled"
        if event.status == EventStatus.CANCELLED
        else "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "url": url,
        "description": event.strapline or event.title,
    }
    if event.ends_at:
        data["endDate"] = event.ends_at.astimezone(zone).isoformat()
    if venue:
        data["location"] = {
            "@type": "Place",
            "name": venue.name,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": venue.address,
                "addressLocality": venue.locality,
                "postalCode": venue.postcode,
                "addressCountry": "GB",
            },
        }
    if image:
        data["image"] = [image]
    data["performer"] = [{"@type": "Person", "name": item.speaker.name} for item in page.speakers]
    data["organizer"] = [
        {"@type": "Organization", "name": o.name, **({"url": o.url} if o.url else {})}
        for o in page.organisers
    ]
    offers = []
    for offer in page.offers:
        tt = offer.ticket_type
        item: dict[str, Any] = {
            "@type": "Offer",
            "name": tt.name,
            "url": url,
            "price": f"{tt.price / 100:.2f}",
            "priceCurrency": tt.currency,
            "availability": AVAILABILITY[offer.state],
        }
        if tt.sales_start:
            item["validFrom"] = tt.sales_start.astimezone(zone).isoformat()
        else:
            item["validFrom"] = event.created_at.astimezone(zone).isoformat()
        offers.append(item)
    data["offers"] = offers
    return data


def jsonld_script(data: dict[str, Any]) -> Markup:
    """JSON for a <script> element: `<`, `>` and `&` escaped so no text can close the tag."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704
