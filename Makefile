# SPDX-License-Identifier: GPL-2.0
# RAMM, a RAM market for Linux: the entry points.  The work is done by the
# scripts in scripts/; everything they generate goes to build/.
#
#   make demo       the scenario on the RAMM kernel and on stock 6.1, side by side
#   make check      everything: host tests, kernels, the guest's tests (and
#                   the kernel's vm selftests: each one on the stock
#                   baseline list must pass)
#   make regress-baseline
#                   boot stock 6.1 with the kernel's vm selftests and rewrite
#                   scripts/regress/vm-baseline.txt with those that pass
#   make bench      measure RAMM against stock 6.1: bench/results.md
#   make fuzz       the syscall fuzzer for 1,000,000 calls (RAMM_FUZZ_CALLS)
#   make kernel     build/bzImage (the debug RAMM kernel)
#   make initramfs  build/initramfs.cpio.gz
#   make source     build/linux: Debian's 6.1 with the series applied
#   make series     out/series/: the RFC patch series, checked and built
#                   patch by patch (RAMM_SERIES_BUILD=0: no builds)
#   make deps       install the Debian packages that are missing
#   make clean      remove build/ and out/

S := scripts

.PHONY: all check demo bench fuzz deps source series kernel initramfs clean \
	regress-baseline
all: check

check:
	@$(S)/check.sh

demo:
	@$(S)/demo.sh

bench:
	@$(S)/bench.sh

fuzz:
	@$(S)/fuzz.sh

regress-baseline:
	@$(S)/regress.sh baseline

deps:
	@$(S)/deps.sh

source: deps
	@$(S)/source.sh

series: source
	@$(S)/series.sh

kernel: source
	@$(S)/kernel.sh debug

initramfs: kernel
	@$(S)/initramfs.sh

clean:
	rm -rf build out
