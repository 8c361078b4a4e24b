// Stand-ins for the Plan/ and Model/ types the kernel sources name, so that the kernels
// compile alone (Embedded Swift for aarch64, or plain Swift for the host) without the rest
// of the Inference target. Single-threaded: the conformance vectors test arithmetic, not
// the pool (the kernels' pool == nil path is the one run here).
protocol ParallelJob: AnyObject { func run(task: Int) }
final class WorkerPool {
    let threadCount = 1
    func parallelFor(_ count: Int, job: any ParallelJob) { for task in 0..<count { job.run(task: task) } }
}
enum FusedActivation { case none, relu, reluN1To1, relu6, tanh, signBit }
