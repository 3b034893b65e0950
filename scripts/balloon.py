#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""balloon.py: the host takes memory back from a running guest.

    balloon.py --console FILE --qmp SOCKET --take SIZE [--json OUT]
               [--timeout SECONDS] -- CMD...

runs CMD (a boot: scripts/qemu.sh or scripts/run-in-guest.sh, which read
RAMM_QMP=SOCKET from the environment and give the guest a virtio balloon
and QEMU a QMP socket there) and, beside it:

 1. connects to QMP and reads the guest's RAM from query-balloon;
 2. waits for the guest to print a line starting "RAMM-BALLOON-READY" on
    its console (FILE, which qemu.sh writes line by line; ramm-balloon
    prints it once its processes hold their data);
 3. asks for SIZE back: the QMP command "balloon" with RAM - SIZE;
 4. polls query-balloon every 50 ms, with timestamps, until the balloon's
    actual size reaches the target, or the guest ends, or --timeout
    seconds pass.  The guest prints "RAMM-BALLOON-SETTLED" when it saw the
    balloon stop growing and moved on (its next allocation); the size at
    that moment is kept apart, because a balloon that reaches its target
    only after the OOM killer freed memory for it did not get it from the
    applications;
 5. waits for CMD, and writes one JSON object (OUT): RAM, the target,
    whether it was reached and how long it took from the command, the
    size when the guest settled, the final actual size, and the samples.
    One line goes to stdout.

The balloon is left inflated: the guest's last act (its next allocation)
happens under the pressure the host created.

Exit status: CMD's when it failed; 1 when the balloon could not be driven
(no QMP socket, the guest never got ready, QMP said no); otherwise 0,
whether or not the target was reached: that is the outcome, for the caller
to judge.  Python's standard library only.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time


def die(msg):
    print(f"balloon.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}': a size like 200M")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


class Qmp:
    """One QMP connection: commands in, their returns out, events skipped."""

    def __init__(self, path, proc, wait_s):
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if proc.poll() is not None:
                    die(f"the guest ended before QEMU's QMP socket {path} "
                        f"accepted a connection ({e})")
                if time.monotonic() > deadline:
                    die(f"no QMP socket at {path} after {wait_s} s ({e}): "
                        "does the boot script pass RAMM_QMP to QEMU?")
                time.sleep(0.1)
        self.file = self.sock.makefile("rwb", buffering=0)
        greeting = self._read()
        if "QMP" not in greeting:
            die(f"not a QMP greeting: {greeting}")
        self.command("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("QEMU closed the QMP socket")
        return json.loads(line)

    def command(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                die(f"QMP {name}: {reply['error'].get('desc', reply['error'])}")
            # an asynchronous event (BALLOON_CHANGE, ...): not our answer

    def close(self):
        self.sock.close()


class Console:
    """The guest's console log, read as it grows, a whole line at a time."""

    def __init__(self, path):
        self.path, self.offset, self.partial = path, 0, b""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        *whole, self.partial = data.split(b"\n")
        return [w.decode(errors="replace") for w in whole]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--console", required=True, help="the guest's console log")
    ap.add_argument("--qmp", required=True, help="the QMP socket path (RAMM_QMP)")
    ap.add_argument("--take", required=True, type=parse_size,
                    help="how much memory the host asks back (200M)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds to wait for the guest to get ready, and "
                         "then for the balloon (default 300)")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--label", default="", help="a name for the result")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        die("no command to run (the boot), after --")

    # The console file of an earlier run must not be mistaken for this one's.
    try:
        os.unlink(a.console)
    except FileNotFoundError:
        pass
    proc = subprocess.Popen(cmd, env=dict(os.environ, RAMM_QMP=a.qmp))
    try:
        result = drive(a, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    rc = proc.wait()
    result["guest_exit"] = rc
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f)
            f.write("\n")
    took = result["seconds_to_target"]
    print(f"balloon {a.label or ''}: asked {result['asked_bytes'] >> 20} MiB of "
          f"{result['ram_bytes'] >> 20} MiB, got {result['taken_bytes'] >> 20} MiB"
          + (f", target reached after {took:.2f} s" if took is not None
             else ", target not reached"))
    if rc != 0:
        sys.exit(rc)


def drive(a, proc):
    qmp = Qmp(a.qmp, proc, 60)
    ram = qmp.command("query-balloon")["actual"]
    if a.take >= ram:
        die(f"--take {a.take >> 20} MiB: the guest has only {ram >> 20} MiB")
    target = ram - a.take

    console = Console(a.console)
    deadline = time.monotonic() + a.timeout
    ready = False
    while not ready:
        for line in console.lines():
            if line.startswith("RAMM-BALLOON-READY"):
                ready = True
            elif line.startswith("RAMM-DONE:"):
                die(f"the guest finished without printing RAMM-BALLOON-READY "
                    f"(see {a.console})")
        if ready:
            break
        if proc.poll() is not None:
            die(f"the guest ended before RAMM-BALLOON-READY (see {a.console})")
        if time.monotonic() > deadline:
            die(f"no RAMM-BALLOON-READY on {a.console} after {a.timeout:.0f} s")
        time.sleep(0.05)

    t0 = time.monotonic()
    qmp.command("balloon", value=target)
    samples, reached_s, settled_s, settled_actual, done = [], None, None, None, False
    deadline = t0 + a.timeout
    actual = ram
    while True:
        try:
            actual = qmp.command("query-balloon")["actual"]
        except EOFError:
            break	# QEMU ended: the guest is done
        t = time.monotonic() - t0
        if not samples or samples[-1][1] != actual:
            samples.append((round(t, 3), actual))
        for line in console.lines():
            if line.startswith("RAMM-BALLOON-SETTLED") and settled_s is None:
                settled_s, settled_actual = t, actual
            done = done or line.startswith(("RAMM-CMD-EXIT:", "RAMM-DONE:"))
        if actual <= target:
            reached_s = t
            break
        if done or proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    qmp.close()
    return {
        "kind": "balloon-host",
        "label": a.label,
        "ram_bytes": ram,
        "asked_bytes": a.take,
        "target_bytes": target,
        "reached": reached_s is not None,
        "seconds_to_target": reached_s,
        "final_actual_bytes": actual,
        "taken_bytes": ram - actual,
        "seconds_to_settled": settled_s,
        "taken_at_settled_bytes": None if settled_actual is None else ram - settled_actual,
        "samples": samples,
    }


if __name__ == "__main__":
    main()
