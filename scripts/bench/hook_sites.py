#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""hook_sites.py VMLINUX KEY OUT: every static-branch site of static key KEY
in VMLINUX (x86_64), with the function it is in and the instruction the
image holds there, written to OUT one site a line.

x86_64 6.1 uses relative jump entries (HAVE_ARCH_JUMP_LABEL_RELATIVE):
    struct jump_entry { s32 code; s32 target; long key; };
each field an offset from its own address, the key's low two bits flags.
While the key is off, a static_branch_unlikely() site is a NOP in the image.
Fails when the key has no site or a site holds anything but a NOP.
"""

import bisect
import struct
import subprocess
import sys


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main(vmlinux, key_name, out_path):
    symbols = []
    key_addr = None
    for line in run("nm", "-n", vmlinux).splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        addr, kind, name = int(parts[0], 16), parts[1], parts[2]
        if name == key_name:
            key_addr = addr
        if kind in "tT":
            symbols.append((addr, name))
    if key_addr is None:
        sys.exit(f"hook_sites.py: {key_name} is not in {vmlinux}")
    starts = [a for a, _ in symbols]

    # The table lies between __start___jump_table and __stop___jump_table,
    # inside a data section (.data..ro_after_init on x86): map its address
    # to a file offset through the section that holds it.
    nm = {}
    for line in run("nm", vmlinux).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("__start___jump_table", "__stop___jump_table"):
            nm[parts[2]] = int(parts[0], 16)
    if len(nm) != 2:
        sys.exit(f"hook_sites.py: no jump table in {vmlinux}: is CONFIG_JUMP_LABEL on?")
    addr, size = nm["__start___jump_table"], nm["__stop___jump_table"] - nm["__start___jump_table"]
    off = None
    for line in run("readelf", "-W", "-S", vmlinux).splitlines():
        if not line.strip().startswith("[") or "]" not in line:
            continue
        f = line.split("]", 1)[1].split()
        try:
            s_addr, s_off, s_size = int(f[2], 16), int(f[3], 16), int(f[4], 16)
        except (IndexError, ValueError):
            continue
        if f[1] != "NOBITS" and s_addr <= addr and addr + size <= s_addr + s_size:
            off = s_off + addr - s_addr
    if off is None:
        sys.exit(f"hook_sites.py: no section of {vmlinux} holds the jump table")
    with open(vmlinux, "rb") as f:
        f.seek(off)
        table = f.read(size)

    sites = []
    for i in range(0, size - size % 16, 16):
        code, _target, key = struct.unpack_from("<iiq", table, i)
        entry = addr + i
        if (entry + 8 + key) & ~3 == key_addr:
            sites.append(entry + code)
    if not sites:
        sys.exit(f"hook_sites.py: no jump-table entry uses {key_name}")

    lines, bad = [], 0
    for site in sorted(sites):
        k = bisect.bisect_right(starts, site) - 1
        where = f"{symbols[k][1]}+{site - symbols[k][0]:#x}" if k >= 0 else "?"
        dis = run("objdump", "-d", f"--start-address={site:#x}",
                  f"--stop-address={site + 8:#x}", vmlinux)
        insn = "?"
        for line in dis.splitlines():
            if line.strip().startswith(f"{site:x}:"):
                _, raw, text = (line.split("\t") + ["", ""])[:3]
                insn = f"{raw.strip():<16} {' '.join(text.split())}"
        # 66 90 (xchg %ax,%ax) and 0f 1f 44 00 00 (nopl) are the NOPs
        # the kernel patches jump-label sites with.
        if not ("xchg   %ax,%ax" in insn or "xchg %ax,%ax" in insn or " nop" in insn):
            bad += 1
        lines.append(f"{site:#x}  {where:<40} {insn}")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(sites)} site(s) of {key_name}, {bad} not a NOP")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
