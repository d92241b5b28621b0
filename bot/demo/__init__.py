"""Demo data: a shop with 300 members and fourteen months of history, so that tiers, points
expiry, segments, bookings and feedback have something to show right after installing.

Nothing is written behind the rules' back: a clock walks forward from fourteen months ago to
now, every registration, sale, redemption, coupon use, refund, booking (made, cancelled,
marked attended) and feedback (sent, answered, closed) goes through its ``core`` use case at
its own moment, and the scheduler's jobs (points expiry and closing past bookings as
no-shows every night, tier review on the first of the month) run on the way. The ledger,
the tiers, the downgrades and the no-shows are therefore exactly what the real rules
produce. History is not news: nothing it does is queued as a push to a member.

Bookings cover the last three months (most of them visits the member then paid for, some
cancelled in time, a few not kept) and a handful of slots still to come; feedback is spread
over the whole history, a few recent complaints still waiting for an answer.

The history is planned up front from a fixed seed and the moment the first run started, so
it is the same every time. A run that stops half-way is resumed, not repeated: the planned
events up to the last thing the demo members did are skipped (sales would be idempotent
anyway, redemptions and bookings would not). Later events find the booking or feedback they
act on by its member and creation moment, so they work the same after a resume.

The plan is pure (``plan``: a seed and an end moment in, people and events out), with
the people it draws from in ``people``; ``loader`` replays it through the use cases.
"""
