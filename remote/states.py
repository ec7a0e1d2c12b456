"""The named states shared by the monitor, the command line and the GUI.

They are ``enum.StrEnum`` members whose values are the plain words stored and shown
before (``"connected"``, ``"records"``...), so ``ConnectionStatus.CONNECTED == "connected"``
and data written earlier reads back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class ConnectionStatus(StrEnum):
    """Where a profile's connection stands, as the GUI's indicator shows it."""

    LOCAL = "local"                # this computer: nothing to connect
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # lost; the next poll tries again
    ERROR = "error"                # refused (changed host key, failed login): needs the user


class EventKind(StrEnum):
    """What a :class:`remote.monitor.MonitorEvent` reports."""

    STATE = "state"            # a job's state or pending reason changed
    RECORDS = "records"        # new metrics lines arrived
    FINISHED = "finished"      # the job ended
    CONNECTION = "connection"  # the connection was lost or came back
    WARNING = "warning"        # something odd in SLURM's output (skipped)


__all__ = ["ConnectionStatus", "EventKind"]
