// Sound because the only raw reads are an ObjectId's two words, after `append(type:_:)` has checked that
// it is 12 bytes.
/// The `_id`s of first sightings, each found by its number (plus one: the payload of its hash's slot in the
/// table, so a number needs `payloadBits` at most). ObjectIds, the usual `_id`, are kept in blocks of 16:
/// the first whole, each next one as the difference from the one before (its last 8 bytes as a number,
/// when its first 4 are the same and it is larger), which ObjectIds inserted in order keep to a byte or
/// two. Any other `_id` turns the store into entries of type, length and bytes with a 4-byte offset each.
/// Bounded (`byteLimit`); beyond it, or for an `_id` too long to keep, it overflows and unique_values
/// verifies its candidates with one query instead.
package struct FirstSightings {
    private var bytes: [UInt8] = []
    /// ObjectIds: where each block of 16 starts in `bytes`. Other `_id`s: where each entry starts.
    private var starts: [UInt32] = []
    private var objectIDsOnly = true
    private var previous: (high: UInt32, low: UInt64) = (0, 0)
    package private(set) var count = 0
    package var storedBytes: Int { bytes.count + starts.count * 4 }
    /// True once an `_id` could not be kept (or from the start, when none are to be kept).
    package private(set) var overflowed = false
    package static let byteLimit = 24 << 20
    package static let idLimit = 64
    package static let payloadBits = 21
    package static let blockSize = 16

    package init(kept: Bool = true) { overflowed = !kept }

    /// Makes room for about `documents` ObjectIds, sequential ones in mind (about a byte and a half each).
    package mutating func reserve(documents: Int) {
        guard !overflowed else { return }
        bytes.reserveCapacity(min(documents + documents / 2, Self.byteLimit))
        starts.reserveCapacity(min(documents / Self.blockSize + 1, Self.byteLimit / 4))
    }

    /// Keeps an `_id` given as its BSON type and value bytes; returns its payload (0: overflowed).
    package mutating func append(type: UInt8, _ value: UnsafeRawBufferPointer) -> UInt32 {
        // A date _id would not survive the round trip through a Swift Date exactly: query instead.
        guard !overflowed, type != 0x09, value.count <= Self.idLimit, count + 2 < 1 << Self.payloadBits,
            bytes.count + starts.count * 4 + value.count + 16 < Self.byteLimit
        else {
            overflow()
            return 0
        }
        if objectIDsOnly && (type != 0x07 || value.count != 12) { keepEveryType() }
        if objectIDsOnly {
            let high = UInt32(bigEndian: value.loadUnaligned(as: UInt32.self))
            let low = UInt64(bigEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
            if count % Self.blockSize == 0 {
                starts.append(UInt32(bytes.count))
                bytes.append(contentsOf: value)
            } else if high == previous.high && low > previous.low {
                appendVarint(low - previous.low)
            } else {
                bytes.append(0)
                bytes.append(contentsOf: value)
            }
            previous = (high, low)
        } else {
            starts.append(UInt32(bytes.count))
            bytes.append(type)
            bytes.append(UInt8(value.count))
            bytes.append(contentsOf: value)
        }
        count += 1
        return UInt32(count)
    }

    /// Gives up keeping `_id`s (unique_values then verifies its candidates with a query).
    package mutating func overflow() {
        overflowed = true
        bytes = []
        starts = []
    }

    private mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// From ObjectIds in blocks to entries of any type, once an `_id` of another type comes.
    private mutating func keepEveryType() {
        let ids = (0..<count).compactMap { rawID(at: UInt32($0 + 1)) }
        objectIDsOnly = false
        bytes = []
        starts = []
        count = 0
        for id in ids { _ = id.bytes.withUnsafeBytes { append(type: id.type, $0) } }
    }

    /// Whether `other`'s `_id`s fit beside these within the limits.
    package func canHold(_ other: FirstSightings) -> Bool {
        !overflowed && !other.overflowed && count + other.count + 2 < 1 << Self.payloadBits
            && bytes.count + other.bytes.count + (starts.count + other.count) * 4 + 13 * other.count / Self.blockSize < Self.byteLimit
    }

    /// The `_id` of a payload: its BSON type and value bytes.
    package func rawID(at payload: UInt32) -> (type: UInt8, bytes: [UInt8])? {
        let number = Int(payload) - 1
        guard !overflowed, number >= 0, number < count else { return nil }
        if !objectIDsOnly {
            let start = Int(starts[number])
            guard start + 2 <= bytes.count, start + 2 + Int(bytes[start + 1]) <= bytes.count else { return nil }
            return (bytes[start], Array(bytes[(start + 2)..<(start + 2 + Int(bytes[start + 1]))]))
        }
        var position = Int(starts[number / Self.blockSize])
        var id = Array(bytes[position..<(position + 12)])
        position += 12
        for _ in 0..<(number % Self.blockSize) {
            if bytes[position] == 0 {
                id = Array(bytes[(position + 1)..<(position + 13)])
                position += 13
                continue
            }
            var delta: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = bytes[position]
                position += 1
                delta |= UInt64(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            var low = id[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } &+ delta
            for index in stride(from: 11, through: 4, by: -1) {
                id[index] = UInt8(truncatingIfNeeded: low)
                low >>= 8
            }
        }
        return (0x07, id)
    }
}
