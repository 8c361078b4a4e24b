/// The map recipes of the layer-based methods, as pure functions of a layer's activations
/// `A` (`positions × channels`, NHWC order with batch 1) and their gradients `G`.
enum ClassActivationMaps {
    /// `sum_k weights[k] * A[p, k]` for every position `p`.
    static func weightedSum(_ activations: UnsafeBufferPointer<Float>, weights: [Float], positions: Int,
                            channels: Int) -> [Float] {
        var map = [Float](repeating: 0, count: positions)
        guard let a = activations.baseAddress, activations.count >= positions * channels, weights.count >= channels else { return map }
        weights.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            for p in 0..<positions { map[p] = VectorLoops.dot(w, a + p * channels, count: channels) }
        }
        return map
    }

    /// The mean over positions of each channel: Grad-CAM's `alpha_k = mean_ij dS/dA_ijk`, or the
    /// channel means of activations.
    static func channelMeans(_ values: UnsafeBufferPointer<Float>, positions: Int, channels: Int) -> [Float] {
        var means = [Float](repeating: 0, count: channels)
        guard let v = values.baseAddress, values.count >= positions * channels else { return means }
        means.withUnsafeMutableBufferPointer { m in
            guard let m = m.baseAddress else { return }
            for p in 0..<positions { VectorLoops.axpy(1, v + p * channels, m, count: channels) }
        }
        let share = 1 / Float(max(positions, 1))
        return means.map { $0 * share }
    }

    /// Grad-CAM++ weights as xplique 2.0 computes them (and as the reference maps were made):
    /// `alpha = g² / (2g² + g³ mean_ij(A_k))` (0 where the denominator is 0, as the numerator then is),
    /// `w_k = mean_ij(alpha * relu(g))`.
    static func gradCAMPlusPlusWeights(gradients g: UnsafeBufferPointer<Float>, activations a: UnsafeBufferPointer<Float>,
                                       positions: Int, channels: Int) -> [Float] {
        let activationMeans = channelMeans(a, positions: positions, channels: channels)
        var weights = [Float](repeating: 0, count: channels)
        for p in 0..<positions {
            let base = p * channels
            for k in 0..<channels {
                let gradient = g[base + k]
                let square = gradient * gradient
                let denominator = 2 * square + square * gradient * activationMeans[k]
                guard denominator != 0, gradient > 0 else { continue }
                weights[k] += square / denominator * gradient
            }
        }
        let share = 1 / Float(max(positions, 1))
        return weights.map { $0 * share }
    }

    /// One channel of the activations, or (`channel` nil) their mean over channels.
    static func activationMap(_ a: UnsafeBufferPointer<Float>, positions: Int, channels: Int, channel: Int?) -> [Float] {
        if let channel {
            return (0..<positions).map { a[$0 * channels + channel] }
        }
        let share = 1 / Float(max(channels, 1))
        return (0..<positions).map { p in
            var sum: Float = 0
            for k in 0..<channels { sum += a[p * channels + k] }
            return sum * share
        }
    }

    /// EigenCAM (Muhammad & Yeasin 2020, as pytorch-grad-cam computes it): the projection of the
    /// mean-centred activations on their first principal component, ReLU'd.
    ///
    /// The projection `A_c v₁` equals `σ₁ u₁`, the leading eigenvector of the small
    /// `positions × positions` Gram matrix `A_c A_cᵀ`, found here by power iteration, so the cost
    /// is `positions² × channels`, not a `channels²` covariance. The sign of a principal
    /// component is arbitrary; it is chosen so the map correlates positively with the channel-mean
    /// activation (otherwise the ReLU could keep the background instead of the object).
    static func eigenCAM(_ a: UnsafeBufferPointer<Float>, positions n: Int, channels: Int) -> [Float] {
        guard n > 0, channels > 0 else { return [] }
        let means = channelMeans(a, positions: n, channels: channels)
        var centred = [Float](repeating: 0, count: n * channels)
        for p in 0..<n { for k in 0..<channels { centred[p * channels + k] = a[p * channels + k] - means[k] } }
        var gram = [Float](repeating: 0, count: n * n)
        centred.withUnsafeBufferPointer { c in
            for i in 0..<n {
                for j in i..<n {
                    var dot: Float = 0
                    for k in 0..<channels { dot += c[i * channels + k] * c[j * channels + k] }
                    gram[i * n + j] = dot
                    gram[j * n + i] = dot
                }
            }
        }
        var vector = [Float](repeating: 1 / Float(n).squareRoot(), count: n)
        var eigenvalue: Float = 0
        for _ in 0..<200 {
            var next = [Float](repeating: 0, count: n)
            for i in 0..<n {
                var sum: Float = 0
                for j in 0..<n { sum += gram[i * n + j] * vector[j] }
                next[i] = sum
            }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return [Float](repeating: 0, count: n) }
            let change = zip(next, vector).reduce(0) { $0 + abs($1.0 / norm - $1.1) }
            vector = next.map { $0 / norm }
            eigenvalue = norm
            if change < 1e-7 * Float(n) { break }
        }
        let scale = eigenvalue.squareRoot()  // σ₁ = sqrt(λ₁)
        let channelMean = activationMap(a, positions: n, channels: channels, channel: nil)
        let m = channelMean.reduce(0, +) / Float(n)
        let agreement = zip(vector, channelMean).reduce(0) { $0 + $1.0 * ($1.1 - m) }
        let sign: Float = agreement < 0 ? -1 : 1
        return vector.map { max(sign * scale * $0, 0) }
    }
}
