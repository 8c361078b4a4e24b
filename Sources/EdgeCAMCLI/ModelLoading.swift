import ArgumentParser
import Foundation
import Inference

/// Reads a `.tflite` file, turning I/O and model errors into messages for the terminal.
func loadModel(at path: String) throws -> Model {
    let bytes: [UInt8]
    do {
        bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        throw ValidationError("cannot read model '\(path)': \(error.localizedDescription)")
    }
    do {
        return try Model(bytes: bytes)
    } catch {
        throw CLIError("\(path): \(error)")
    }
}

/// A failure worth one line on stderr and exit code 1, without a usage dump.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
