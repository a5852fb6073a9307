"""Outgoing email: rendering (render), MIME building (message) and the SMTP sender (sender).

Emails are queued by the domain (booking.domain.outbox) in the transaction that causes them;
`deliver_pending(svc)` sends whatever is due.
"""

from booking.mail.message import Email, InvalidAddress, Part, build, header_text
from booking.mail.render import render
from booking.mail.sender import Delivery, deliver_pending

__all__ = [
    "Delivery",
    "Email",
    "InvalidAddress",
    "Part",
    "build",
    "deliver_pending",
    "header_text",
    "render",
]
