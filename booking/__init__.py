"""booking: event ticketing and debate booking."""

__version__ = "0.1.0"
