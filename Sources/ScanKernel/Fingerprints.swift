// Sound because the binary search reads the buffer only below `count`: `low` and `high` stay in 0...count.
/// The keyed hashes of a field's values that fall in one range of hash values, sorted and without repeats
/// once finished. It keeps at most `capacity`; when full, the range shrinks to the lower half of what it holds.
public struct Fingerprints: Sendable {
    @usableFromInline var storedHashes: [UInt64] = []
    /// The hashes, sorted, without repeats.
    @inlinable public var hashes: [UInt64] { storedHashes }
    public let lower: UInt64
    /// The end of the range (exclusive); nil through the largest hash.
    public private(set) var upper: UInt64?
    public let capacity: Int

    package init(from lower: UInt64 = 0, capacity: Int, expected: Int) {
        self.lower = lower
        self.capacity = capacity
        storedHashes.reserveCapacity(min(capacity, max(1_024, expected)))
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

    package var count: Int { storedHashes.count }
    package var coversEverything: Bool { lower == 0 && upper == nil }

    @inline(__always)
    @inlinable public func covers(_ hash: UInt64) -> Bool { hash >= lower && (upper.map { hash < $0 } ?? true) }

    @inline(__always)
    @inlinable public mutating func add(_ hash: UInt64) {
        guard covers(hash) else { return }
        if storedHashes.count >= capacity {
            shrink()
            guard covers(hash) else { return }
        } else if storedHashes.count == storedHashes.capacity {
            // Grow by doubling up to the capacity, never past it.
            storedHashes.reserveCapacity(min(capacity, storedHashes.count * 2))
        }
        storedHashes.append(hash)
    }

    /// Sorted, without repeats; then, when still over three quarters full, the upper half of the range is let go.
    @usableFromInline mutating func shrink() {
        finish()
        guard storedHashes.count > capacity * 3 / 4 else { return }
        let middle = storedHashes.count / 2
        upper = storedHashes[middle]
        storedHashes.removeSubrange(middle...)
    }

    package mutating func finish() {
        // In place: the standard sort's merge buffer would take half as much memory again.
        storedHashes.withUnsafeMutableBufferPointer { sortInPlace($0) }
        var kept = 0
        for index in storedHashes.indices where kept == 0 || storedHashes[index] != storedHashes[kept - 1] {
            storedHashes[kept] = storedHashes[index]
            kept += 1
        }
        storedHashes.removeSubrange(kept...)
    }

    /// Where `hash` is among the finished hashes.
    @inline(__always)
    @inlinable public func index(of hash: UInt64) -> Int? {
        storedHashes.withUnsafeBufferPointer { storedHashes in
            var low = 0
            var high = storedHashes.count
            while low < high {
                let middle = (low + high) >> 1
                if storedHashes[middle] < hash { low = middle + 1 } else { high = middle }
            }
            return low < storedHashes.count && storedHashes[low] == hash ? low : nil
        }
    }

    /// Adds what another part of the same pass collected (over the narrower of the two ranges).
    package mutating func merge(_ other: Fingerprints) {
        if let end = other.upper, upper.map({ end < $0 }) ?? true {
            upper = end
            storedHashes.removeAll { $0 >= end }
        }
        for hash in other.storedHashes { add(hash) }
    }
}
