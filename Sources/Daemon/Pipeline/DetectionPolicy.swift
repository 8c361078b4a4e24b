/// Decides which classes of a frame's scores are logged, with hysteresis so that an object
/// that stays in view is logged on appearance, on becoming the top class, and then at most
/// every `repeatSeconds` — not on every frame.
///
/// A class is *present* while it passes the filters (class of interest, `minScore`, top-k)
/// at least every `clearSeconds`. It is logged when:
/// - it appears (it was not present), or
/// - it becomes the top-1 class (a class change) and was last logged ≥ `changeSeconds` ago, or
/// - it is still present and was last logged ≥ `repeatSeconds` ago.
struct DetectionPolicy: Sendable {
    struct Rules: Sendable, Equatable {
        /// Allowed class indices; nil = all.
        var classes: Set<Int>?
        var minScore: Double
        var topK: Int
        var repeatSeconds: Double
        var clearSeconds: Double
        var changeSeconds: Double
    }

    enum Reason: String, Sendable {
        case appeared, classChange = "class-change", repeated
    }

    struct Decision: Sendable, Equatable {
        var classIndex: Int
        var score: Double
        var reason: Reason
    }

    private struct Track {
        var lastSeen: Double
        var lastLogged: Double
    }

    private var tracks: [Int: Track] = [:]
    private var previousTop: Int?

    /// The detections to log for one frame's `scores` at monotonic time `now` (seconds).
    mutating func evaluate(scores: [Float], at now: Double, rules: Rules) -> [Decision] {
        var candidates: [(Int, Float)] = []
        for (index, score) in scores.enumerated() where Double(score) >= rules.minScore {
            if let classes = rules.classes, !classes.contains(index) { continue }
            candidates.append((index, score))
        }
        candidates.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        if candidates.count > rules.topK { candidates.removeLast(candidates.count - rules.topK) }
        let top = candidates.first?.0
        var decisions: [Decision] = []
        for (index, score) in candidates {
            var reason: Reason?
            if let track = tracks[index], now - track.lastSeen <= rules.clearSeconds {
                if index == top, previousTop != index, now - track.lastLogged >= rules.changeSeconds {
                    reason = .classChange
                } else if now - track.lastLogged >= rules.repeatSeconds {
                    reason = .repeated
                }
                tracks[index]?.lastSeen = now
            } else {
                reason = .appeared
                tracks[index] = Track(lastSeen: now, lastLogged: now)
            }
            if let reason {
                tracks[index]?.lastLogged = now
                decisions.append(Decision(classIndex: index, score: Double(score), reason: reason))
            }
        }
        if top != nil { previousTop = top }
        // Forget classes long gone so the table stays small.
        tracks = tracks.filter { now - $0.value.lastSeen <= rules.clearSeconds }
        return decisions
    }
}
