"""A real SMTP server (aiosmtpd) for dvc's tests: writes every accepted message to a maildir.

Usage: python3 tests/smtp/server.py PORT MAILDIR

Recipients whose local part contains "+reject" are refused with 550 (permanent) and those with
"+tempfail" with 451 (transient), so tests can exercise both kinds of failure against a real
SMTP conversation.
"""
import mailbox
import os
import sys
import threading

from aiosmtpd.controller import Controller


class MaildirPolicy:
    def __init__(self, path):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        self.box = mailbox.Maildir(path, create=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "+reject" in address:
            return "550 5.1.1 Mailbox unavailable"
        if "+tempfail" in address:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return "250 Message accepted for delivery"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(MaildirPolicy(path), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
