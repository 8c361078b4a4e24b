// Prints median per-frame times of the model-input path (decode, crop, resize, quantize) for
// 640x480 and 1280x720 MJPEG frames. Run through scripts/bench-decode (release build).
import Imaging

let runs = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 30
do {
    print("EdgeCAM preprocessing benchmark: median of \(runs) runs, 224x224 int8 model input")
    for result in try PreprocessingBenchmark.run(runs: runs) {
        print(result)
    }
} catch {
    print("benchmark failed: \(error)")
}
