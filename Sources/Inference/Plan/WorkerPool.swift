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
/// a pool of `threadCount` uses `threadCount - 1` extra threads. ``parallelFor(_:_:)``
/// takes the lock twice per job, never per task. It allocates one closure context per job
/// (`withoutActuallyEscaping`); hot paths use ``parallelFor(_:job:)``, which allocates nothing.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: the mutable job state is only touched under `mutex`, or read by workers
    // between the generation change that publishes it and the `remaining` count reaching zero.

    /// Threads working on a job, the caller included.
    public let threadCount: Int

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var generation = 0
    private var stopping = false
    private var job: ((Int) -> Void)?
    private var objectJob: (any ParallelJob)?
    private var taskCount = 0
    private let nextTask = Atomic<Int>(0)
    private var busyWorkers = 0
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
        pthread_mutex_lock(mutex)
        stopping = true
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
            publish(count: count) { job = body }
            runTasks(body, count: count)
            waitForWorkers { job = nil }
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
        publish(count: count) { objectJob = job }
        runTasks(job, count: count)
        waitForWorkers { objectJob = nil }
    }

    /// Hands a job of `count` tasks to the workers: `assign` stores it under the lock, then the
    /// generation change wakes them.
    private func publish(count: Int, _ assign: () -> Void) {
        pthread_mutex_lock(mutex)
        assign()
        taskCount = count
        nextTask.store(0, ordering: .relaxed)
        busyWorkers = threads.count
        generation &+= 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until every worker has finished the current job, then `clear`s it under the lock.
    private func waitForWorkers(_ clear: () -> Void) {
        pthread_mutex_lock(mutex)
        while busyWorkers > 0 { pthread_cond_wait(finished, mutex) }
        clear()
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

    private func workerLoop() {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            let count = taskCount
            if let objectJob {
                pthread_mutex_unlock(mutex)
                runTasks(objectJob, count: count)
            } else {
                guard let body = job else { continue }
                pthread_mutex_unlock(mutex)
                runTasks(body, count: count)
            }
            pthread_mutex_lock(mutex)
            busyWorkers -= 1
            if busyWorkers == 0 { pthread_cond_signal(finished) }
        }
        pthread_mutex_unlock(mutex)
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
