"""The webhook receiver of the scale-out test, as a process of its own (a client's system):
``python -m tests.cluster.hooks PORT_FILE LOG_FILE [ADDRESS]``, listening on ADDRESS (127.0.0.1
unless given: the bridge's address when the test runs in network namespaces). It answers 200 to
every request and appends one JSON line per request (path, ``webhook-id``, event type) to
LOG_FILE, until SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from tests.fixtures.receiver import Answer, Received, Receiver


def main(port_file: Path, log_file: Path, host: str) -> None:
    lock = threading.Lock()
    with log_file.open("a") as log:

        def behaviour(request: Received, _count: int) -> Answer:
            line = {
                "path": request.path,
                "id": request.headers.get("webhook-id"),
                "event": request.headers.get("x-vouchertrack-event"),
            }
            with lock:
                log.write(json.dumps(line) + "\n")
                log.flush()
            return Answer(200)

        receiver = Receiver(behaviour, host).start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        port_file.write_text(str(receiver.port))
        while not stop.wait(0.2):
            pass
        receiver.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1")
