"""The publisher's brand: organisers set the site name, logo, colours (checked for contrast),
footer links and the sender's legal name and address; pages, emails, icons and the payment
page wear it."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from booking import branding
from booking.domain import brand
from booking.models import AuditEntry, SiteBrand
from tests.admin.test_speakers import png
from tests.factories import make_ticket_type
from tests.helpers import buy
from tests.mail.flows import deliver, sender

GOOD = {
    "site_name": "The Islington Gazette",
    "brand_colour": "#A50034",
    "link_colour": "#0b57a4",
    "privacy_url": "https://gazette.example/privacy",
    "terms_url": "https://gazette.example/terms",
    "contact_url": "events@gazette.example",
    "legal_name": "Gazette Media Ltd",
    "postal_address": "1 Upper Street\r\nLondon N1 0PQ",
}


@pytest.mark.parametrize(
    ("colour", "ratio"),
    [("#ffffff", 1.0), ("#000000", 21.0), ("#767676", 4.54), ("#777777", 4.48)],
)
def test_contrast_is_wcag_contrast(colour, ratio):
    assert round(brand.contrast(colour, "#ffffff"), 2) == ratio


def test_the_defaults_come_from_settings(client, settings):
    html = client.get("/").text
    assert '<a class="site-name" href="/">Debates and events</a>' in html
    assert "--brand: #1d1d3b" in client.get("/brand.css").text
    assert "handled by Stripe" not in html  # said once, beside the pay button only


def test_an_organiser_brands_the_site(forms, session, settings):
    page = forms.client.get("/admin/site")
    assert page.status_code == 200 and 'value="Debates and events"' in page.text
    response = forms.post("/admin/site", GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/admin/site"
    row = session.get(SiteBrand, 1)
    assert (row.site_name, row.brand_colour, row.contact_url) == (
        "The Islington Gazette",
        "#a50034",
        "mailto:events@gazette.example",
    )
    assert row.postal_address == "1 Upper Street\nLondon N1 0PQ"
    html = forms.client.get("/").text
    assert '<a class="site-name" href="/">The Islington Gazette</a>' in html
    assert '<meta name="theme-color" content="#a50034">' in html
    for link in ('href="https://gazette.example/privacy">Privacy policy', ">Terms<"):
        assert link in html
    assert 'href="mailto:events@gazette.example">Contact us' in html
    assert "Gazette Media Ltd, 1 Upper Street, London N1 0PQ" in html
    version = brand.of_row(row, branding.defaults(settings)).version
    assert f'href="/brand.css?v={version}"' in html
    css = forms.client.get("/brand.css").text
    assert "--brand: #a50034" in css and "--link: #0b57a4" in css
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "site.brand_changed"))
    assert entry.data["site_name"] == {"before": "Debates and events", "after": GOOD["site_name"]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "brand_colour",
            "#ffdd00",
            "Brand colour #ffdd00 has a contrast of 1.3:1 behind the header",
        ),
        ("link_colour", "#777", "Link colour #777777 has a contrast of 4.5:1 on the white page"),
        ("link_colour", "blue", "Link colour must be a colour code like #1d1d3b"),
        ("site_name", " ", "Enter the site name"),
        ("privacy_url", "javascript:alert(1)", "Privacy policy link must be a web address"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_and_nothing_changes(
    forms, session, field, value, message
):
    response = forms.post("/admin/site", {**GOOD, field: value})
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in response.text
    assert f'href="#{field}"' in response.text
    assert session.get(SiteBrand, 1) is None


def test_emails_carry_the_brand_and_the_senders_address(
    forms, session, event, smtp, settings, db, clock
):
    assert forms.post("/admin/site", GOOD).status_code == 303
    free = make_ticket_type(session, event, name="Free", price=0)
    assert buy(forms.client, event, {free.id: 1}).status_code == 303
    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 1
    [message] = smtp.messages
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "The Islington Gazette" in html and "background: #a50034" in html
    for part in (html, text):
        assert "Gazette Media Ltd" in part and "London N1 0PQ" in part
        assert "https://gazette.example/privacy" in part
    assert "\nPrivacy policy: https://gazette.example/privacy\n" in text
    assert "\nContact us: events@gazette.example\n" in text
    assert "\nGazette Media Ltd\n1 Upper Street\nLondon N1 0PQ" in text


def test_an_svg_logo_is_sanitised_and_shown_in_the_header(forms, session, settings):
    hostile = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 20" onload="alert(1)">'
        b"<script>alert(2)</script><style>*{}</style>"
        b'<rect width="100" height="20" fill="#fff"/>'
        b'<a href="javascript:alert(3)"><text x="2" y="15">Gazette</text></a>'
        b'<image href="https://tracker.example/x.png"/></svg>'
    )
    response = forms.post(
        "/admin/site/logo",
        {"action": "upload"},
        files={"logo": ("logo.svg", hostile, "image/svg+xml")},
    )
    assert response.status_code == 303, response.text
    path = session.get(SiteBrand, 1).logo
    assert path.startswith("/media/brand/") and path.endswith(".svg")
    stored = (Path(settings.media_dir) / path.removeprefix("/media/")).read_bytes()
    for bad in (b"script", b"onload", b"style", b"javascript", b"tracker", b"<a"):
        assert bad not in stored
    assert b"<rect" in stored
    served = forms.client.get(path)
    assert served.headers["content-type"] == "image/svg+xml"
    assert "script-src 'self'" in served.headers["content-security-policy"]
    assert (
        f'<img class="site-logo" src="{path}" alt="Debates and events"'
        in forms.client.get("/").text
    )


def test_a_doctype_or_a_non_image_is_refused(forms, session):
    bomb = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'
    for data, message in (
        (bomb, "The SVG must not contain a DOCTYPE or entities"),
        (b"GIF89a....", "The selected file must be an SVG or PNG image"),
    ):
        response = forms.post(
            "/admin/site/logo", {"action": "upload"}, files={"logo": ("x", data, "image/png")}
        )
        assert response.status_code == 400 and message in response.text
    assert session.get(SiteBrand, 1) is None


def test_icons_come_from_the_brand(forms, session):
    icon = forms.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    touch = forms.client.get("/apple-touch-icon.png")
    image = Image.open(io.BytesIO(touch.content))
    assert image.size == (180, 180)
    assert image.convert("RGB").getpixel((2, 2)) == (0x1D, 0x1D, 0x3B)  # the brand colour
    forms.post("/admin/site", GOOD)
    image = Image.open(io.BytesIO(forms.client.get("/apple-touch-icon.png").content))
    assert image.convert("RGB").getpixel((2, 2)) == (0xA5, 0x00, 0x34)
    forms.post(
        "/admin/site/logo",
        {"action": "upload"},
        files={"logo": ("l.png", png(400, 100), "image/png")},
    )
    image = Image.open(io.BytesIO(forms.client.get("/apple-touch-icon.png").content))
    assert image.convert("RGB").getpixel((2, 2)) == (255, 255, 255)  # the PNG logo on white
    html = forms.client.get("/").text
    assert 'rel="apple-touch-icon"' in html and 'rel="icon"' in html


def test_the_stand_ins_payment_page_shows_the_site_name(forms, session, event, standin):
    assert forms.post("/admin/site", GOOD).status_code == 303
    standard = make_ticket_type(session, event, name="Paid", price=1200)
    response = buy(forms.client, event, {standard.id: 1})
    assert response.status_code == 303
    page = httpx.get(response.headers["location"])
    assert '<p class="brand">The Islington Gazette</p>' in page.text


def test_only_organisers_reach_the_settings(client):
    assert client.get("/admin/site").status_code in (302, 303)
