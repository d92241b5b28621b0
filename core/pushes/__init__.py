"""Pushes from the outbox to members and staff: what is queued (outbox), when and where it may
go (routes, pacing, work queue), and the scheduled jobs that plan them (reminders, birthdays,
win-back)."""
