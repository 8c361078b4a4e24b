import Dispatch
import Glibc
import Locking
import Testing

@Suite struct PThreadMutexTests {
    /// Also the check that ThreadSanitizer sees the lock: under `scripts/sanitize tsan` a lock it
    /// could not see (as `Synchronization.Mutex` on Linux) makes this test's process report a race.
    @Test func updatesFromManyThreadsUnderTheLockAreNeverLost() {
        let threads = 8
        let rounds = 2_000
        let counter = PThreadMutex(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<rounds {
                counter.withLock { value in
                    // Read, give the CPU away, write: without mutual exclusion updates get lost.
                    let seen = value
                    if seen % 64 == 0 { sched_yield() }
                    value = seen + 1
                }
            }
        }
        #expect(counter.withLock { $0 } == threads * rounds)
    }

    @Test func tryingALockAnotherThreadHoldsReturnsNilAndSucceedsOnceItIsReleased() {
        let lock = PThreadMutex("value")
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            lock.withLock { _ in
                held.signal()
                release.wait()
            }
            finished.signal()
        }
        held.wait()
        #expect(lock.withLockIfAvailable { $0 } == nil)
        release.signal()
        finished.wait()
        #expect(lock.withLockIfAvailable { $0 } == "value")
    }

    @Test func aThrowingBodyRethrowsItsTypedErrorAndReleasesTheLock() {
        struct Refused: Error, Equatable {}
        let lock = PThreadMutex([1, 2])
        #expect(throws: Refused()) {
            try lock.withLock { (value) throws(Refused) -> Void in
                value.append(3)
                throw Refused()
            }
        }
        // Had the throw left the lock held, trying it would return nil. The change made before
        // the throw is kept, as with Mutex.
        #expect(lock.withLockIfAvailable { $0 } == [1, 2, 3])
    }

    @Test func aNonCopyableValueIsMovedOutExactlyOnce() {
        struct Handle: ~Copyable { let fd: Int32 }
        let lock = PThreadMutex<Handle?>(Handle(fd: 7))
        let first = lock.withLock { $0.take() }
        let second = lock.withLock { $0.take() }
        var firstFD: Int32?
        if let first { firstFD = first.fd }
        let secondIsEmpty = second == nil
        #expect(firstFD == 7)
        #expect(secondIsEmpty)
    }
}
