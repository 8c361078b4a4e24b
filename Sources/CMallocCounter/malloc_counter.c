// Counts heap allocations of the whole process, for InferenceBenchmark's "allocations per
// invocation". Linked into an executable, these definitions interpose glibc's (the
// executable's symbols come first in ELF symbol lookup, for the shared libraries too);
// each forwards to glibc's internal entry point.
#include "CMallocCounter.h"
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static volatile bool counting = false;
static long calls = 0;

static inline void note(void) {
    if (counting) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
}

void edgecam_count_allocations(bool on) { counting = on; }
long edgecam_allocation_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}
