import Foundation
import Locking

/// A few dedicated threads on which control handler tasks run (as their task executor
/// preference), so that commands are served even when the cooperative thread pool is busy
/// or blocked, e.g. by synchronous work elsewhere in the daemon (or by blocking clients in
/// the same process, as in tests).
///
/// One shared instance lives for the whole process: a task suspended in a handler may be
/// resumed at any time, so the threads are never stopped.
final class HandlerExecutor: TaskExecutor, Sendable {
    /// The executor every `ControlServer` uses.
    static let shared = HandlerExecutor(threads: 4)

    private let queue = PThreadMutex<[UnownedJob]>([])
    private let available = DispatchSemaphore(value: 0)

    private init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [self] in runJobs() }
            thread.name = "edgecam-control-handler-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.append(unowned) }
        available.signal()
    }

    private func runJobs() {
        while true {
            available.wait()
            let job: UnownedJob? = queue.withLock { jobs in
                jobs.isEmpty ? nil : jobs.removeFirst()
            }
            job?.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
