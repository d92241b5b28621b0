"""Every member conversation, written once for all channels.

Input is a channel-neutral ``Event``; output a list of channel-neutral ``Reply``. Each flow
(one user journey) lives in its own module and is a set of named steps; a step shows
something (reading ``core``) and/or acts (calling one ``core`` use case) and names the next
step. Where a flow stands is kept in the database (``core.people.conversations``).
"""
