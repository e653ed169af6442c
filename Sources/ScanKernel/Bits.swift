/// One bit per position in `0..<count`, packed in 64-bit words: which target hashes a reference hit, which
/// documents hold an orphan.
public struct Bits: Sendable {
    @usableFromInline var words: [UInt64]

    package init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    @inline(__always)
    @inlinable public mutating func insert(_ position: Int) { words[position >> 6] |= 1 << UInt64(position & 63) }

    @inline(__always)
    @inlinable public func contains(_ position: Int) -> Bool { words[position >> 6] & (1 << UInt64(position & 63)) != 0 }

    /// How many positions are set.
    package var setCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Sets every position `other` sets (over the shorter of the two).
    package mutating func formUnion(_ other: Bits) {
        for index in words.indices where index < other.words.count { words[index] |= other.words[index] }
    }
}
