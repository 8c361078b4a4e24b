// Counts heap allocations of the whole process, for InferenceBenchmark's "allocations per
// invocation". Linked into an executable, these definitions interpose glibc's (the
// executable's symbols come first in ELF symbol lookup, for the shared libraries too);
// each forwards to glibc's internal entry point.
//
// Under AddressSanitizer or ThreadSanitizer (scripts/sanitize) the sanitizer must own the
// allocator: interposing malloc there would hand it memory it never saw (and TSan calls malloc
// before it is initialized, which crashed every test process). There the allocations are
// counted through the sanitizer's allocation hook instead.
#include "CMallocCounter.h"
#include <errno.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EDGECAM_SANITIZER_ALLOCATOR 1
#endif
#endif

// Atomic (relaxed): any thread may allocate while the benchmark's thread switches counting.
static bool counting = false;
static long calls = 0;

static inline void note(void) {
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED)) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
}

void edgecam_count_allocations(bool on) { __atomic_store_n(&counting, on, __ATOMIC_RELAXED); }
long edgecam_allocation_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }

#ifdef EDGECAM_SANITIZER_ALLOCATOR
// From <sanitizer/allocator_interface.h>: the hooks run on every allocation and free of the
// sanitizer's allocator (malloc, calloc, realloc, the aligned variants, operator new).
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void allocated(const volatile void *pointer, size_t size) {
    (void)pointer;
    (void)size;
    note();
}

static void freed(const volatile void *pointer) { (void)pointer; }

__attribute__((constructor)) static void install_allocation_hook(void) {
    __sanitizer_install_malloc_and_free_hooks(allocated, freed);
}
#else
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

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
#endif
