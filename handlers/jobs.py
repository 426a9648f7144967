"""Handlers layer: the work of one scheduler tick, in order.

The wiring runs each step in its own transactions, batch after batch while the
step's report says `more`, so that locks are held briefly. Every step derives what
to do from the database, so any replica may run any step at any time.
"""

from __future__ import annotations

from handlers.digest import handle_digest_due
from handlers.forums import handle_forums_due
from handlers.scheduled import handle_advance_open, handle_dispatch_due, handle_forget_old_forms, handle_refresh_stale

TICK_STEPS = (handle_dispatch_due, handle_advance_open, handle_refresh_stale, handle_forums_due, handle_digest_due, handle_forget_old_forms)
