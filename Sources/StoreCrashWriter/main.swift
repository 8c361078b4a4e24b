// Inserts detections into the store at the given path until killed, printing "acked ID" after
// each committed batch (the last id of the batch). StoreTests SIGKILLs it mid-stream and checks
// that every acknowledged detection survived: the WAL + synchronous=NORMAL promise.
import Foundation
import Store

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: StoreCrashWriter DATABASE_PATH\n".utf8))
    exit(2)
}
do {
    let store = try DetectionStore(path: CommandLine.arguments[1])
    let grid = Data((0..<49).map { UInt8($0) })
    var time = DetectionStore.now()
    while true {
        let batch = (0..<10).map { i in
            NewDetection(
                time: time + Int64(i), frameSequence: time, classIndex: 1, label: "crash-test", score: 0.5,
                heatmap: NewHeatmap(width: 7, height: 7, grid: grid))
        }
        let ids = try store.insert(batch)
        time += 10
        // Acknowledge only after insert returned, i.e. after the commit.
        FileHandle.standardOutput.write(Data("acked \(ids.last ?? 0)\n".utf8))  // unbuffered write(2)
    }
} catch {
    FileHandle.standardError.write(Data("StoreCrashWriter: \(error)\n".utf8))
    exit(1)
}
