"""Telling people of events (marac/notices/events.py): who is told of each (fanout.py, docs/notifications.md),
in the app and by e-mail as each user prefers (kinds.py, preferences.py), and the daily digest and scheduled
events (daily.py). It reads the domains' records and access rules, so it sits just below marac.jobs."""
