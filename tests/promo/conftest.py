import pytest

from tests.factories import make_event, make_ticket_type


@pytest.fixture
def event(session):
    """An event on sale: 5 seats, Standard £10 and Concession £5."""
    event = make_event(session, capacity=5, title="London and Brexit")
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    return event
