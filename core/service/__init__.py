"""Service to members in person: booked store visits and feedback."""
