#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A small fixed set of worker threads that split one operator's work between them.
///
/// Not Swift's cooperative pool: inference is CPU-bound and latency-sensitive, so the
/// workers are plain threads created once. The calling thread takes part in every job, so
/// a pool of `threadCount` uses `threadCount - 1` extra threads.
///
/// Starting a job is cheap in steady state: the caller publishes it by bumping an atomic
/// generation, and workers that finished the previous job are still spinning on that
/// generation (for about ``spinIterations`` polls, yielding the CPU between most of them),
/// so no lock, condition variable or system call is involved. Only a worker that found no
/// job for that long blocks on a condition variable, and only then does publishing take the
/// lock to wake it; waiting for the workers to finish works the same way in reverse. Tasks
/// are handed out by an atomic counter, never by a lock. ``parallelFor(_:_:)`` allocates one
/// closure context per job (`withoutActuallyEscaping`); hot paths use ``parallelFor(_:job:)``,
/// which allocates nothing.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: `job`, `objectJob` and `taskCount` are written by the caller only while no
    // worker reads them (before the generation bump that publishes a job, or after `pending`
    // reached zero), and read by workers between the two; the atomics order those accesses.

    /// Threads working on a job, the caller included.
    public let threadCount: Int

    /// Polls of the job generation (or of the pending count) before blocking. Between jobs of
    /// one inference the gap is microseconds; between inferences the workers go to sleep.
    static let spinIterations = 20_000
    /// Polls done back to back before the spinning starts yielding the CPU (`sched_yield`),
    /// so that a spinning worker does not starve other threads on a busy machine.
    static let busyPolls = 2_000

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Bumped once per job; a worker runs a job when it sees a generation it has not run.
    private let generation = Atomic<Int>(0)
    /// Workers that have not finished the current job.
    private let pending = Atomic<Int>(0)
    /// Workers blocked (or about to block) on `wake`.
    private let sleepingWorkers = Atomic<Int>(0)
    /// Whether the caller is blocked (or about to block) on `finished`.
    private let callerSleeping = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let nextTask = Atomic<Int>(0)
    private var job: ((Int) -> Void)?
    private var objectJob: (any ParallelJob)?
    private var taskCount = 0
    private var threads: [pthread_t] = []

    /// Creates a pool for `threadCount` threads in total (at least 1; 1 means "run on the caller").
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(finished, nil)
        for _ in 1..<self.threadCount {
            let unmanaged = Unmanaged.passRetained(WorkerBox(pool: self))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                guard let argument else { return nil }
                let box = Unmanaged<WorkerBox>.fromOpaque(argument).takeRetainedValue()
                box.pool?.workerLoop()
                return nil
            }, unmanaged.toOpaque())
            if status == 0 {
                threads.append(thread)
            } else {
                unmanaged.release()
                break  // Fewer threads than asked is still correct: the caller does the rest.
            }
        }
    }

    /// The number of CPUs the process may run on.
    public static var onlineProcessors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        finished.deallocate()
    }

    /// Calls `body(task)` for every task in `0..<count`, spread over the pool's threads,
    /// and returns when all calls have returned. Tasks must be independent.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threads.isEmpty || count == 1 {
            for task in 0..<count { body(task) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            publish(count: count)
            runTasks(body, count: count)
            waitForWorkers()
            job = nil
        }
    }

    /// Calls `job.run(task:)` for every task in `0..<count`, spread over the pool's threads,
    /// and returns when all calls have returned. Unlike ``parallelFor(_:_:)`` this allocates
    /// nothing: the job is an object the caller made once.
    public func parallelFor(_ count: Int, job: any ParallelJob) {
        if count <= 0 { return }
        if threads.isEmpty || count == 1 {
            for task in 0..<count { job.run(task: task) }
            return
        }
        objectJob = job
        publish(count: count)
        runTasks(job, count: count)
        waitForWorkers()
        objectJob = nil
    }

    /// Hands the job stored in `job`/`objectJob` (`count` tasks) to the workers: the
    /// generation bump publishes it; sleeping workers, if any, are woken under the lock.
    private func publish(count: Int) {
        taskCount = count
        nextTask.store(0, ordering: .relaxed)
        pending.store(threads.count, ordering: .relaxed)
        // Sequentially consistent with a worker's `sleepingWorkers` increment and generation
        // re-check: either it sees this generation, or this load sees it going to sleep.
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepingWorkers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Returns once every worker has finished the current job (spinning first, then blocking).
    private func waitForWorkers() {
        if Self.poll({ pending.load(ordering: .acquiring) == 0 }) { return }
        pthread_mutex_lock(mutex)
        callerSleeping.store(true, ordering: .sequentiallyConsistent)
        while pending.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_wait(finished, mutex) }
        callerSleeping.store(false, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }

    private func runTasks(_ job: any ParallelJob, count: Int) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= count { return }
            job.run(task: task)
        }
    }

    private func runTasks(_ body: (Int) -> Void, count: Int) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= count { return }
            body(task)
        }
    }

    /// Polls `condition` up to ``spinIterations`` times, yielding the CPU between polls after
    /// the first ``busyPolls``; whether it became true.
    @inline(__always)
    private static func poll(_ condition: () -> Bool) -> Bool {
        for iteration in 0..<spinIterations {
            if condition() { return true }
            if iteration >= busyPolls { sched_yield() }
        }
        return condition()
    }

    private func workerLoop() {
        var seen = 0
        while true {
            if !Self.poll({ generation.load(ordering: .acquiring) != seen }) {
                pthread_mutex_lock(mutex)
                sleepingWorkers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
                sleepingWorkers.subtract(1, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            if let objectJob {
                runTasks(objectJob, count: taskCount)
            } else if let job {
                runTasks(job, count: taskCount)
            }
            // The caller may reuse the job fields once this reaches zero.
            if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
               callerSleeping.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(finished)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Carries the pool into a new thread without keeping it alive (the pool joins its threads in deinit).
    private final class WorkerBox {
        unowned(unsafe) let pool: WorkerPool?
        init(pool: WorkerPool) { self.pool = pool }
    }
}

/// Work split into independent tasks for ``WorkerPool/parallelFor(_:job:)``: an object made
/// once (at load), holding what its tasks need, so starting a job allocates nothing.
public protocol ParallelJob: AnyObject {
    /// Runs task `task`; tasks of one job may run at the same time on different threads.
    func run(task: Int)
}
