/* C driver of the kernel conformance vectors (Tests/ARM/KernelConformance.swift), linked
 * with the same Swift source built for aarch64 (run under qemu-aarch64-static) and for the
 * host; scripts/test-arm64 compares the two listings line for line.
 *
 * One line per case: name, verdict (fast==ref, FAST!=REF, or reference-only when the fast
 * kernel declined the configuration), FNV-1a 64 of the fast output bytes, and the number
 * of distinct output values (a constant output would prove nothing). Exit status 1 if any
 * fast kernel differed from its reference, 2 if a case could not run. */
#include <inttypes.h>
#include <stdio.h>

int32_t conformance_case_count(void);
int32_t conformance_run_case(int32_t index, char *name, int32_t capacity, uint64_t *checksum, int32_t *distinct);

int main(void) {
    int32_t count = conformance_case_count();
    int mismatches = 0, errors = 0;
    for (int32_t index = 0; index < count; index++) {
        char name[64];
        uint64_t checksum = 0;
        int32_t distinct = 0;
        int32_t status = conformance_run_case(index, name, (int32_t)sizeof name, &checksum, &distinct);
        if (status < 0) {
            printf("case %d: bad index\n", (int)index);
            errors++;
            continue;
        }
        const char *verdict = status == 1 ? "fast==ref" : status == 2 ? "reference-only" : "FAST!=REF";
        if (status == 0) mismatches++;
        printf("%-22s %-14s %016" PRIx64 " distinct=%d\n", name, verdict, checksum, (int)distinct);
    }
    fflush(stdout);
    return errors ? 2 : mismatches ? 1 : 0;
}
