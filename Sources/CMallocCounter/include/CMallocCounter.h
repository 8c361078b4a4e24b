#ifndef CMALLOCCOUNTER_H
#define CMALLOCCOUNTER_H
#include <stdbool.h>

/// Starts or stops counting heap allocation calls (malloc, calloc, realloc, memalign,
/// aligned_alloc, posix_memalign) made by any thread of the process.
void edgecam_count_allocations(bool on);
/// Allocation calls counted so far.
long edgecam_allocation_calls(void);

#endif
