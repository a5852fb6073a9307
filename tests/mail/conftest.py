import pytest

from tests.factories import make_event, make_organisation, make_speaker, make_ticket_type


@pytest.fixture
def event(session):
    """The debate: 5 seats, Standard £10 and Concession £5, speakers, organisers, contact."""
    event = make_event(
        session,
        capacity=5,
        title="London and Brexit: will leaving the EU be good or bad for the capital?",
        contact_email="events@onlondon.example",
        buyer_cancel_allowed=True,
        buyer_cancel_cutoff_hours=48,
    )
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    make_speaker(session, event, name="Andrew Adonis", position=0)
    make_speaker(session, event, name="Daniel Moylan", position=1)
    make_organisation(session, event, name="On London")
    return event
