// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-khz: print the rate of this x86 host's time stamp counter in kHz.
 *
 * Under TCG, QEMU hands a guest's RDTSC the host's counter, so this is the
 * guest's TSC rate too.  qemu.sh passes it as tsc_early_khz=: a guest
 * without ACPI has no HPET or PM timer to calibrate the TSC against, and
 * its PIT calibration fails whenever emulation is slow, which leaves the
 * guest on the jiffies clocksource, where every time it measures is a
 * multiple of the 4 ms tick.
 *
 * Measured against CLOCK_MONOTONIC_RAW over 200 ms, three times; the
 * median is printed, so one try disturbed by being scheduled out does not
 * move it.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* One sample of (ns, tsc), bracketed tightly: the shortest of ten. */
static void sample(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 10; i++) {
		uint64_t t0 = __rdtsc(), n = now_ns(), t1 = __rdtsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			*ns = n;
			*tsc = t0 + (t1 - t0) / 2;
		}
	}
}

int main(void)
{
	const struct timespec gap = { 0, 200 * 1000 * 1000 };
	double khz[3];

	for (int i = 0; i < 3; i++) {
		uint64_t ns0, tsc0, ns1, tsc1;

		sample(&ns0, &tsc0);
		nanosleep(&gap, NULL);
		sample(&ns1, &tsc1);
		khz[i] = (double)(tsc1 - tsc0) * 1e6 / (double)(ns1 - ns0);
	}
	double a = khz[0], b = khz[1], c = khz[2];
	double median = a > b ? (b > c ? b : (a > c ? c : a))
			      : (a > c ? a : (b > c ? c : b));

	if (median < 1e5) {	/* below 100 MHz: no usable counter */
		fprintf(stderr, "tsc-khz: implausible TSC rate %.0f kHz\n", median);
		return 1;
	}
	printf("%.0f\n", median);
	return 0;
}
