"""Request limits every entry point enforces alike, so one API never accepts what another
refuses."""

MAX_EVENTS_PER_REQUEST = 1000
