// Sound because the binary search reads the buffer only below `count`: `low` and `high` stay in 0...count.
/// The keyed hashes of a field's values that fall in one range of hash values, sorted and without repeats
/// once finished. It keeps at most `capacity`; when full, the range shrinks to the lower half of what it holds.
package struct Fingerprints: Sendable {
    @usableFromInline package private(set) var hashes: [UInt64] = []
    @usableFromInline package let lower: UInt64
    /// The end of the range (exclusive); nil through the largest hash.
    @usableFromInline package private(set) var upper: UInt64?
    @usableFromInline package let capacity: Int

    package init(from lower: UInt64 = 0, capacity: Int, expected: Int) {
        self.lower = lower
        self.capacity = capacity
        hashes.reserveCapacity(min(capacity, max(1_024, expected)))
    }

    private init(lower: UInt64, upper: UInt64?) {
        self.lower = lower
        self.upper = upper
        capacity = 0
    }

    /// Covers no hash.
    package static let nothing = Fingerprints(lower: 0, upper: 0)
    /// Covers every hash and holds none: an empty or missing target.
    package static let everything = Fingerprints(lower: 0, upper: nil)

    package var count: Int { hashes.count }
    package var coversEverything: Bool { lower == 0 && upper == nil }

    @inline(__always)
    @inlinable package func covers(_ hash: UInt64) -> Bool { hash >= lower && (upper.map { hash < $0 } ?? true) }

    @inline(__always)
    @inlinable package mutating func add(_ hash: UInt64) {
        guard covers(hash) else { return }
        if hashes.count >= capacity {
            shrink()
            guard covers(hash) else { return }
        } else if hashes.count == hashes.capacity {
            // Grow by doubling up to the capacity, never past it.
            hashes.reserveCapacity(min(capacity, hashes.count * 2))
        }
        hashes.append(hash)
    }

    /// Sorted, without repeats; then, when still over three quarters full, the upper half of the range is let go.
    @usableFromInline mutating func shrink() {
        finish()
        guard hashes.count > capacity * 3 / 4 else { return }
        let middle = hashes.count / 2
        upper = hashes[middle]
        hashes.removeSubrange(middle...)
    }

    package mutating func finish() {
        // In place: the standard sort's merge buffer would take half as much memory again.
        hashes.withUnsafeMutableBufferPointer { sortInPlace($0) }
        var kept = 0
        for index in hashes.indices where kept == 0 || hashes[index] != hashes[kept - 1] {
            hashes[kept] = hashes[index]
            kept += 1
        }
        hashes.removeSubrange(kept...)
    }

    /// Where `hash` is among the finished hashes.
    @inline(__always)
    @inlinable package func index(of hash: UInt64) -> Int? {
        hashes.withUnsafeBufferPointer { hashes in
            var low = 0
            var high = hashes.count
            while low < high {
                let middle = (low + high) >> 1
                if hashes[middle] < hash { low = middle + 1 } else { high = middle }
            }
            return low < hashes.count && hashes[low] == hash ? low : nil
        }
    }

    /// Adds what another part of the same pass collected (over the narrower of the two ranges).
    package mutating func merge(_ other: Fingerprints) {
        if let end = other.upper, upper.map({ end < $0 }) ?? true {
            upper = end
            hashes.removeAll { $0 >= end }
        }
        for hash in other.hashes { add(hash) }
    }
}
