"""The sender: claims due outbox rows, renders them and hands them to SMTP (aiosmtplib).

Runs as a job inside `booking serve` and `booking worker`; any number of senders may run at
once (see booking.domain.outbox for the claim). With no SMTP_HOST the emails are rendered,
kept on their rows as "captured" and logged instead.

Failures are sorted: a server that is down or says "try later" means another attempt after
a backoff (1, 2, 4 … minutes, at most an hour, eight attempts in all, about two hours); a
server that refuses the address or the message for good (5xx) fails the row at once. Either
way the error is kept on the row for organisers.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiosmtplib
from starlette.concurrency import run_in_threadpool

from booking import branding
from booking.domain import mail_context, outbox
from booking.domain.errors import NotFound
from booking.mail.message import Email, InvalidAddress, build
from booking.mail.render import render as render_email
from booking.mail.render import render_invitation
from booking.models import MailKind, MailOutbox
from booking.runtime import Services
from booking.settings import Settings

log = logging.getLogger("booking.mail")
BATCH = 10
MAX_BATCHES = 20
SMTP_TIMEOUT = 30.0


@dataclass
class Delivery:
    """What one run of the sender did."""

    sent: int = 0
    captured: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0  # the lease ran out and another sender took the row over

    @property
    def total(self) -> int:
        return self.sent + self.captured + self.retrying + self.failed + self.skipped + self.lost


class Permanent(Exception):
    """The server refused this message for good: no point trying again."""


def message_id_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "booking.invalid"


def _worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


async def deliver_pending(svc: Services, *, batch: int = BATCH) -> Delivery:
    """Send (or capture) every email that is due now; returns the counts."""
    worker = _worker_id()
    done = Delivery()
    for _ in range(MAX_BATCHES):
        if not await svc.read(outbox.has_due, now=svc.now()):
            break
        rows = await svc.write(
            outbox.claim,
            worker=worker,
            now=svc.now(),
            limit=batch,
            message_id_domain=message_id_domain(svc.settings),
        )
        if not rows:
            break
        if svc.settings.captures_email:
            await _capture(svc, rows, worker, done)
        else:
            await _send(svc, rows, worker, done)
        if len(rows) < batch:
            break
    return done


async def _prepare(svc: Services, row: MailOutbox) -> tuple[Email | None, str]:
    """The rendered email, or None and why it no longer applies."""
    assert row.id is not None
    if row.kind == MailKind.INVITATION:
        site_brand = await run_in_threadpool(branding.current, svc)
        return render_invitation(row, settings=svc.settings, site_brand=site_brand), ""
    try:
        ctx = await svc.read(mail_context.load, outbox_id=row.id)
    except NotFound as exc:
        return None, exc.message
    if ctx.stale:
        return None, ctx.stale
    email = await run_in_threadpool(render_email, ctx, settings=svc.settings, now=svc.now())
    return email, ""


def _kept(email: Email) -> outbox.Rendered:
    kept = email.kept()  # without one-time links
    return outbox.Rendered(kept.subject, kept.text, kept.html)


async def _capture(svc: Services, rows: list[MailOutbox], worker: str, done: Delivery) -> None:
    for row in rows:
        assert row.id is not None
        try:
            email, stale = await _prepare(svc, row)
        except Exception as exc:  # a rendering bug must not stop the other emails
            log.exception("email %s could not be rendered", row.id)
            await _retry(svc, row, worker, f"rendering failed: {exc!r}", done)
            continue
        if email is None:
            await _skip(svc, row, worker, stale, done)
            continue
        captured = await svc.write(
            outbox.mark_captured,
            outbox_id=row.id,
            worker=worker,
            now=svc.now(),
            rendered=_kept(email),
        )
        if captured:
            done.captured += 1
            log.info(
                "email %s captured (no SMTP_HOST): %s to %s: %s",
                row.id,
                row.kind,
                row.recipient,
                email.subject,
            )
            if email.secrets:
                # Without SMTP (never in production) this log is the only way the one-time
                # link reaches anyone; the row keeps it blanked out.
                log.info("email %s one-time link: %s", row.id, _links(email))
        else:
            done.lost += 1


def _links(email: Email) -> str:
    words = email.text.split()
    return " ".join(w for w in words if any(secret in w for secret in email.secrets))


async def _connect(settings: Settings) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=SMTP_TIMEOUT,
    )
    await client.connect()
    return client


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _classify(exc: Exception) -> Exception:
    """Permanent for a 5xx refusal of the recipient or the message; the exception otherwise."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        if exc.recipients and all(r.code >= 500 for r in exc.recipients):
            return Permanent("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        return Exception("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
    if isinstance(exc, aiosmtplib.SMTPDataError) and exc.code >= 500:
        return Permanent(f"{exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Exception(f"{exc.code} {exc.message}")
    return exc


def _server_answered(exc: Exception) -> bool:
    """True when the server took part and refused this one message (others may still go)."""
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return False
    return isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused)


async def _send(svc: Services, rows: list[MailOutbox], worker: str, done: Delivery) -> None:
    """Send a batch over one connection; if the server is unreachable, retry them all later."""
    client: aiosmtplib.SMTP | None = None
    unreachable = ""
    try:
        for row in rows:
            assert row.id is not None
            if unreachable:
                await _retry(svc, row, worker, unreachable, done)
                continue
            try:
                email, stale = await _prepare(svc, row)
                if email is None:
                    await _skip(svc, row, worker, stale, done)
                    continue
                message = build(
                    email,
                    mail_from=svc.settings.mail_from,
                    message_id=row.message_id,
                    date=svc.now(),
                )
            except InvalidAddress as exc:
                await _fail(svc, row, worker, str(exc), done)
                continue
            except Exception as exc:  # a rendering bug must not stop the other emails
                log.exception("email %s could not be rendered", row.id)
                await _retry(svc, row, worker, f"rendering failed: {exc!r}", done)
                continue
            try:
                if client is None:
                    client = await _connect(svc.settings)
                await client.send_message(message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await _close(client)
                client = None
                error = _classify(exc)
                if isinstance(error, Permanent):
                    await _fail(svc, row, worker, f"refused: {error}", done)
                elif _server_answered(exc):
                    await _retry(svc, row, worker, str(error), done)
                else:  # unreachable, or the connection dropped: the rest must wait too
                    unreachable = f"{type(exc).__name__}: {exc}"
                    await _retry(svc, row, worker, unreachable, done)
                continue
            sent = await svc.write(
                outbox.mark_sent,
                outbox_id=row.id,
                worker=worker,
                now=svc.now(),
                rendered=_kept(email),
            )
            if sent:
                done.sent += 1
            else:
                done.lost += 1
                log.warning("email %s was sent but another sender had taken it over", row.id)
    finally:
        await _close(client)


async def _retry(svc: Services, row: MailOutbox, worker: str, error: str, done: Delivery) -> None:
    assert row.id is not None
    log.warning("email %s attempt %s failed: %s", row.id, row.attempts, error)
    ok = await svc.write(
        outbox.mark_retry,
        outbox_id=row.id,
        worker=worker,
        attempts=row.attempts,
        now=svc.now(),
        error=error,
    )
    if not ok:
        done.lost += 1
    elif row.attempts >= outbox.MAX_ATTEMPTS:
        done.failed += 1
    else:
        done.retrying += 1


async def _fail(svc: Services, row: MailOutbox, worker: str, error: str, done: Delivery) -> None:
    assert row.id is not None
    log.warning("email %s failed for good: %s", row.id, error)
    if await svc.write(outbox.mark_failed, outbox_id=row.id, worker=worker, error=error):
        done.failed += 1
    else:
        done.lost += 1


async def _skip(svc: Services, row: MailOutbox, worker: str, reason: str, done: Delivery) -> None:
    assert row.id is not None
    log.info("email %s skipped: %s", row.id, reason)
    if await svc.write(outbox.mark_skipped, outbox_id=row.id, worker=worker, reason=reason):
        done.skipped += 1
    else:
        done.lost += 1
