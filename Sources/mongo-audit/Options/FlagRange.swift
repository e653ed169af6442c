import ArgumentParser

/// Checks a numeric flag against its real range before anything connects; NaN and infinities are outside
/// every range, so `--lock-ttl inf` is refused here rather than trapping later.
func requireFlag<Value: Comparable>(_ flag: String, _ value: Value, in range: ClosedRange<Value>) throws {
    guard range.contains(value) else {
        throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
}
