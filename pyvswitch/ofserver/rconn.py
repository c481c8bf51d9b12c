"""Keeping an OpenFlow connection alive: reconnect backoff and inactivity probes.

Two small clocks, both driven by ``now`` (OVS keeps them together in ``rconn``):

* :class:`Reconnect` is for an *active* controller target.  It says when to try to
  connect, how long an attempt may take, and how long to back off after a failure:
  1, 2, 4 s... up to ``max_backoff`` (OVS default 8 s); a connection that stayed up
  longer than the current backoff resets it to 1 s.  It also measures how long the
  controller has been "failed" (not connected-and-admitted), which fail-open watches.
* :class:`Probe` is for every connection: after ``probe_interval`` seconds without
  receiving anything it asks for an echo request, and if another interval passes in
  silence it asks for a disconnect (OVS's ACTIVE -> IDLE -> disconnect).

Admission (OVS ``is_admitted_msg``): a controller is believed to have accepted the
switch once it sends something beyond the handshake (a flow_mod, a stats request, a
barrier...), or after 30 s connected.

Layer: ofserver.  Imports: nothing.
"""

from __future__ import annotations

from enum import Enum

#: seconds connected after which a controller counts as admitted anyway
ADMIT_AFTER = 30.0
#: OVS's default inactivity probe interval for controllers (seconds)
DEFAULT_PROBE_INTERVAL = 5
#: OVS's probe interval for the management socket's connections
MGMT_PROBE_INTERVAL = 60
#: OVS's default maximum reconnect backoff (seconds)
DEFAULT_MAX_BACKOFF = 8


class State(Enum):
    BACKOFF = "backoff"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class Reconnect:
    """When to (re)connect to an active target.  See the module docstring."""

    __slots__ = ("state", "max_backoff", "backoff", "deadline", "backoff_deadline",
                 "last_connected", "last_admitted", "admitted", "n_attempts")

    def __init__(self, now: float, max_backoff: float = DEFAULT_MAX_BACKOFF) -> None:
        self.state = State.BACKOFF
        self.max_backoff = max(1.0, float(max_backoff))
        self.backoff = 0.0
        #: BACKOFF: when to try; CONNECTING: when the attempt times out
        self.deadline = now
        #: a connection lost after this moment resets the backoff to 1 s
        self.backoff_deadline = float("-inf")
        self.last_connected = float("-inf")
        self.last_admitted = now
        self.admitted = False
        self.n_attempts = 0

    # -- what to do now -------------------------------------------------------------
    def run(self, now: float) -> str | None:
        """"connect" (start an attempt now), "timeout" (abort the attempt in progress,
        then call :meth:`disconnected`) or None."""
        if self.state is State.BACKOFF and now >= self.deadline:
            self.state = State.CONNECTING
            self.backoff_deadline = now + self.backoff
            self.deadline = now + max(1.0, self.backoff)
            self.n_attempts += 1
            return "connect"
        if self.state is State.CONNECTING and now >= self.deadline:
            self.backoff_deadline = float("inf")  # a timeout never resets the backoff
            return "timeout"
        return None

    def next_deadline(self) -> float | None:
        return None if self.state is State.CONNECTED else self.deadline

    # -- what happened -------------------------------------------------------------
    def connected(self, now: float) -> None:
        self.state = State.CONNECTED
        self.last_connected = now
        self.admitted = False

    def admit(self, now: float) -> None:
        """The controller sent a message that shows it accepted us."""
        if self.state is State.CONNECTED:
            self.admitted = True
            self.last_admitted = now

    def connect_failed(self, now: float) -> None:
        """The attempt failed at once (refused, unreachable)."""
        self.backoff_deadline = float("inf")
        self.disconnected(now)

    def disconnected(self, now: float) -> None:
        """The connection (or the attempt) ended; back off before the next one."""
        if self.state is State.CONNECTED and self.admitted:
            self.last_admitted = now
        self.admitted = False
        if now >= self.backoff_deadline:
            self.backoff = 1.0
        elif self.backoff < self.max_backoff / 2:
            self.backoff = max(1.0, 2 * self.backoff)
        else:
            self.backoff = self.max_backoff
        self.state = State.BACKOFF
        self.deadline = now + self.backoff

    # -- questions -------------------------------------------------------------------
    def is_connected(self) -> bool:
        return self.state is State.CONNECTED

    def is_admitted(self, now: float) -> bool:
        if self.state is not State.CONNECTED:
            return False
        if not self.admitted and now - self.last_connected >= ADMIT_AFTER:
            self.admitted = True
            self.last_admitted = now
        return self.admitted

    def failure_duration(self, now: float) -> float:
        """0 while connected and admitted, else seconds since it last was (or since
        this target was configured)."""
        if self.is_admitted(now):
            return 0.0
        return max(0.0, now - self.last_admitted)


class Probe:
    """Inactivity probing of one connection (OVS rconn ACTIVE/IDLE states)."""

    __slots__ = ("interval", "last_activity", "idle_since")

    def __init__(self, now: float, interval: float) -> None:
        #: seconds; 0 disables probing
        self.interval = interval
        self.last_activity = now
        #: when the echo request went out (None: not waiting for an answer)
        self.idle_since: float | None = None

    def activity(self, now: float) -> None:
        """Something arrived from the peer."""
        self.last_activity = now
        self.idle_since = None

    def run(self, now: float) -> str | None:
        """"probe" (send an echo request now), "disconnect" (the peer stayed silent
        through a whole probe interval after the echo request) or None."""
        if not self.interval:
            return None
        if self.idle_since is None:
            if now >= self.last_activity + self.interval:
                self.idle_since = now
                return "probe"
            return None
        if now >= self.idle_since + self.interval:
            return "disconnect"
        return None

    def next_deadline(self) -> float | None:
        if not self.interval:
            return None
        if self.idle_since is None:
            return self.last_activity + self.interval
        return self.idle_since + self.interval


__all__ = ["ADMIT_AFTER", "DEFAULT_MAX_BACKOFF", "DEFAULT_PROBE_INTERVAL",
           "MGMT_PROBE_INTERVAL", "Probe", "Reconnect", "State"]
