#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutual-exclusion lock around a value, built on `pthread_mutex_t`, with the shape of
/// `Synchronization.Mutex`: the value is only reachable inside `withLock`.
///
/// Why not `Synchronization.Mutex`: on Linux (Swift 6.3.1) that Mutex is a futex lock whose
/// lock and unlock run in the uninstrumented `libswiftSynchronization.so`, so ThreadSanitizer
/// sees no happens-before edge between two critical sections. Every access to the protected
/// value then looks like a race: two threads that update a dictionary only through
/// `Mutex.withLock` are reported as a "Swift access race" (checked with a 10-line program under
/// `swiftc -sanitize=thread`; the same program with this type is clean), and the first TSan run
/// of our suite gave 213 such reports, which hid any real race. TSan intercepts
/// `pthread_mutex_lock`/`unlock`, so it sees this lock and still reports what is not protected
/// by it. The cost is the same: an uncontended pthread mutex is one atomic exchange in and one
/// out (glibc's default, non-recursive type), plus one heap allocation when the lock is made.
///
/// Unlike `Mutex` this is a class, so it can be captured by escaping closures without a wrapper.
/// The C mutex lives in its own allocation: its address must not change while it is in use,
/// which a stored property of a Swift object does not promise for `&` access.
///
/// `Sendable` for any `Value`, as `Mutex` is: the value enters `sending` and is only touched
/// inside `withLock`, whose closure receives it `inout sending` and returns `sending`, so a
/// non-`Sendable` value can never be reached from two threads without the lock.
public final class PThreadMutex<Value: ~Copyable>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Only touched between `lock()` and `unlock()`.
    @usableFromInline var value: Value

    /// Makes a lock that protects `initialValue`.
    public init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        // A default mutex (NULL attributes) cannot fail to initialize on glibc or Darwin.
        pthread_mutex_init(mutex, nil)
        value = initialValue
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value and returns its result.
    ///
    /// Not reentrant: calling `withLock` on the same lock inside `body` deadlocks, as with `Mutex`.
    /// The corresponding C functions are `pthread_mutex_lock` and `pthread_mutex_unlock`.
    @inlinable
    public func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        lock()
        defer { unlock() }
        return try body(&value)
    }

    /// Like `withLock`, but returns nil at once instead of waiting when another thread holds the lock.
    /// The corresponding C function is `pthread_mutex_trylock`.
    @inlinable
    public func withLockIfAvailable<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result? {
        guard tryLock() else { return nil }
        defer { unlock() }
        return try body(&value)
    }

    @usableFromInline func lock() {
        pthread_mutex_lock(mutex)
    }

    @usableFromInline func tryLock() -> Bool {
        pthread_mutex_trylock(mutex) == 0
    }

    @usableFromInline func unlock() {
        pthread_mutex_unlock(mutex)
    }
}
