"""Hero images: checked with Pillow, re-encoded, stored under a random name, served at /media."""

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from booking import images
from booking.models import AuditEntry, Event, Speaker
from tests.admin.conftest import fresh
from tests.admin.test_speakers import png


def upload(forms, event, data: bytes, name: str = "hero.png", ctype: str = "image/png"):  # type: ignore[no-untyped-def]
    return forms.post(
        f"/admin/events/{event.id}/image",
        {"action": "upload"},
        files={"image": (name, data, ctype)},
    )


def stored_file(settings, path: str) -> Path:  # type: ignore[no-untyped-def]
    return Path(settings.media_dir) / path.removeprefix("/media/")


def test_a_hero_image_is_reencoded_stored_and_served(forms, session, event, settings):
    response = upload(forms, event, png(2400, 1200))
    assert response.status_code == 303, response.text
    path = fresh(session, Event, event.id).hero_image
    assert path.startswith("/media/events/") and path.endswith(".jpg")
    served = forms.client.get(path)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (1600, 800)
    assert f'src="{path}"' in forms.client.get(f"/events/{event.slug}").text
    # A new upload replaces the file; removing deletes it.
    upload(forms, event, png(800, 600))
    second = fresh(session, Event, event.id).hero_image
    assert second != path and not stored_file(settings, path).exists()
    forms.post(f"/admin/events/{event.id}/image", {"action": "remove"})
    assert fresh(session, Event, event.id).hero_image == ""
    assert not stored_file(settings, second).exists()
    assert [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))] == [
        "event.hero_image_changed",
        "event.hero_image_changed",
        "event.hero_image_removed",
    ]


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (500, 500)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "must be a JPG, PNG or WebP",
        ),
        (b"GIF89a" + b"\x00" * 100, "must be a JPG, PNG or WebP"),
        (gif(), "must be a JPG, PNG or WebP"),
        (png(300, 200), "must be at least 400 pixels"),
        (png(9000, 500), "must be at most 8000 pixels"),
        (png(800, 600)[:80], "must be a JPG, PNG or WebP"),
        (b"\x89PNG" + os.urandom(images.MAX_BYTES), "must be smaller than 25 MB"),
        (b"", "Select an image file"),
    ],
    ids=["svg", "gif-header", "gif", "too-small", "too-wide", "cut-short", "oversize", "empty"],
)
def test_uploads_that_are_not_usable_images_are_refused(forms, session, event, data, message):
    response = upload(forms, event, data)
    assert response.status_code == 400
    assert message in response.context["errors"]["image"]
    assert '<a href="#image">' in response.text
    assert fresh(session, Event, event.id).hero_image == ""


def test_no_file_chosen(forms, event):
    response = forms.post(f"/admin/events/{event.id}/image", {"action": "upload"})
    assert response.status_code == 400
    assert response.context["errors"] == {"image": "Select an image file"}


def test_a_plain_form_bigger_than_any_form_is_refused(forms, event):
    response = forms.post(
        f"/admin/events/{event.id}/edit", {"description": "x" * (27 * 1024 * 1024)}
    )
    assert response.status_code == 413


def noise_png(megabytes: int) -> bytes:
    """A PNG of random pixels (which do not compress) of about `megabytes` MB."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 8
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, "PNG", compress_level=0
    )
    return out.getvalue()


def test_a_20_mb_photo_is_accepted_and_shrunk(forms, session, event, settings):
    data = noise_png(20)
    assert len(data) > 20 * 1024 * 1024
    response = upload(forms, event, data)
    assert response.status_code == 303, response.context and response.context["errors"]
    path = fresh(session, Event, event.id).hero_image
    stored = Path(settings.media_dir) / path.removeprefix("/media/")
    assert stored.stat().st_size < 2 * 1024 * 1024
    assert Image.open(stored).size == (900, 900)


def test_a_photo_over_the_limit_is_refused_beside_the_field_keeping_the_typing(
    forms, session, event
):
    too_big = b"\x89PNG" + os.urandom(images.MAX_BYTES + 2 * 1024 * 1024)
    response = forms.post(
        f"/admin/events/{event.id}/speakers/add",
        {
            "source": "new",
            "name": "Sadiq Khan",
            "affiliation": "Mayor of London",
            "bio": "Elected in 2016.",
            "url": "",
            "role": "speaker",
        },
        files={"photo": ("huge.png", too_big, "image/png")},
    )
    assert response.status_code == 400
    assert response.context["errors"] == {"photo": "The image must be smaller than 25 MB"}
    assert 'value="Sadiq Khan"' in response.text and "Elected in 2016." in response.text
    assert 'href="#photo"' in response.text
    assert session.exec(select(Speaker)).all() == []


def test_a_jpeg_turned_by_its_camera_is_stored_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    Image.new("RGB", (800, 400)).save(out, "JPEG", exif=exif.tobytes())
    result = Image.open(io.BytesIO(images.process(out.getvalue(), images.HERO)))
    assert result.size == (450, 900) and not result.getexif()
