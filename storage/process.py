"""Who a process is (host, pid, and a token for this start), and whether a peer is alive."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    token: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        return _CURRENT

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    def is_alive_peer(self, holder: str) -> bool:
        """Whether the process named `holder` (on this host) may still be running.

        The token tells our own pid apart from a dead predecessor's that had the same pid (a
        container's process is pid 1 at every start).
        """
        host, _, rest = holder.partition(":")
        pid_text, _, token = rest.partition(":")
        if host != self.host or not pid_text.isdigit():
            return True  # not ours to judge
        pid = int(pid_text)
        if pid == self.pid:
            return token == self.token
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by someone else
        return True


_CURRENT = ProcessIdentity(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12])
