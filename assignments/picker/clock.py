"""The picker's clock: the monotonic seconds its process-wide state is measured against (the
Redis circuit breaker, the "nothing left" cache, the id ranges, the Postgres fallback's recent
picks: ``assignments.picker.state``). Tests freeze and move it (``lib.clock``). Reservations are
not timed here: Redis times them (its ``TIME``).
"""

from __future__ import annotations

from lib.clock import Clock

clock = Clock()
