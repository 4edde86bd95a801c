"""The embedded mode's Celery broker: kombu's filesystem transport, made safe for a worker that must
never die of one bad file.

kombu writes a message by creating its file, then locking and writing it; its reader moved any file
it found out of the queue folder (into /tmp) and parsed it, so a file caught between create and write
raised JSONDecodeError inside the worker's consumer, which took the whole worker down. This reader
takes a message only under the writer's lock and only once it parses; a file that is empty and
young is left for its writer to finish, anything else that will never parse is moved to a `broken`
folder beside the queue (and logged), so it is acknowledged exactly once and looked at by a person.
Messages never leave the data directory.
"""

import fcntl
import logging
import os
import time
from queue import Empty

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

logger = logging.getLogger(__name__)
# A writer creates the file, then locks and writes it: an empty file younger than this is still being written.
WRITER_GRACE_SECONDS = 10


class Channel(filesystem.Channel):
    def _get(self, queue):
        """The next message of `queue` (oldest first), or Empty."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            message = self._take(os.path.join(self.data_folder_in, name))
            if message is not None:
                return message
        raise Empty()

    def _take(self, path):
        """The message in `path`, removed from the queue; None when it is not (yet) one to take."""
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return None  # another consumer took it
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # its writer still holds it
            try:
                if os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                    return None
            except FileNotFoundError:
                return None  # taken by another consumer while we waited
            payload = handle.read()
            try:
                message = loads(bytes_to_str(payload))
            except ValueError:
                if not payload and time.time() - os.fstat(handle.fileno()).st_mtime < WRITER_GRACE_SECONDS:
                    return None  # created, not written yet
                self._set_aside(path, payload)
                return None
            os.unlink(path)  # under the lock: nobody reads it after us
            return message

    def _set_aside(self, path, payload):
        broken = os.path.join(os.path.dirname(self.data_folder_in.rstrip("/")), "broken")
        os.makedirs(broken, mode=0o700, exist_ok=True)
        os.replace(path, os.path.join(broken, os.path.basename(path)))
        logger.error("Set aside a queue message that is not one (%d bytes, %r…) into %s; the worker goes on",
                     len(payload), payload[:60], broken)


class Transport(filesystem.Transport):
    Channel = Channel
