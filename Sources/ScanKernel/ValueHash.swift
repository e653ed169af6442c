// Sound because each load is within the buffer: words while `i + 8 <= n`, the tail from the last eight
// (or four) bytes only when there are that many, else byte by byte.
/// 64-bit hashing of a value's canonical bytes: a word-at-a-time multiply-rotate over the bytes, then a murmur3
/// finaliser so that the high bits HyperLogLog uses are well mixed.
public enum ValueHash {
    @inlinable @inline(__always) public static func hash(tag: UInt8, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        // Eight bytes at a time, then the murmur3 finaliser.
        let n = bytes.count
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(tag) ^ (UInt64(n) << 8)
        var i = 0
        while i + 8 <= n {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = (h ^ word) &* 0xff51_afd7_ed55_8ccd
            h = (h << 31) | (h >> 33)
            i += 8
        }
        // The last n - i bytes, lowest first: from the last eight bytes when there are eight (no byte loop).
        var tail: UInt64 = 0
        if i < n {
            if n >= 8 {
                tail = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) >> UInt64(8 * (8 - (n - i)))
            } else if n >= 4 {
                let low = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
                tail = low | (high >> UInt64(8 * (8 - n))) << 32
            } else {
                var shift: UInt64 = 0
                while i < n {
                    tail |= UInt64(bytes[i]) << shift
                    shift += 8
                    i += 1
                }
            }
        }
        h = (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        return mix(h)
    }

    /// The hash of the eight little-endian bytes of `bits` (the same as `hash(tag:_:)` of those bytes), without a buffer.
    @inlinable @inline(__always) public static func hash(tag: UInt8, bits: UInt64) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(tag) ^ (8 << 8)
        h = (h ^ bits) &* 0xff51_afd7_ed55_8ccd
        h = (h << 31) | (h >> 33)
        return mix(h &* 0xc4ce_b9fe_1a85_ec53)
    }

    @inlinable @inline(__always) public static func mix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// Numbers that MongoDB treats as equal (1, 1.0, NumberLong(1)) hash alike: a number exactly
    /// representable as a Double hashes as that Double (-0 as 0); an int64 beyond 2^53 hashes as itself.
    public static let numberTag: UInt8 = 0x01
    @inlinable public static func hashNumber(_ value: Double) -> UInt64 {
        let normalised = value == 0 ? 0.0 : (value.isNaN ? Double.nan : value)
        return hash(tag: numberTag, bits: normalised.bitPattern)
    }

    @inlinable public static func hashInt64(_ value: Int64) -> UInt64 {
        if let exact = Double(exactly: value) { return hashNumber(exact) }
        return hash(tag: 0x12, bits: UInt64(bitPattern: value))
    }
}
