// Sound because the word loads are at `offset` with `offset + 8 <= count`; the rest goes byte by byte.
/// SipHash-1-3 with a 128-bit key: a keyed hash, so that nobody who does not know the run's random key
/// can build values that collide.
package struct SipHasher: CanonicalSink {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    private var tail: UInt64 = 0
    private var tailBytes = 0
    private var length = 0

    package init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736F_6D65_7073_6575
        v1 = key.1 ^ 0x646F_7261_6E64_6F6D
        v2 = key.0 ^ 0x6C79_6765_6E65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    /// A fresh random key.
    package static func randomKey() -> (UInt64, UInt64) {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }

    @inline(__always) private mutating func round() {
        v0 = v0 &+ v1; v1 = (v1 << 13) | (v1 >> 51); v1 ^= v0; v0 = (v0 << 32) | (v0 >> 32)
        v2 = v2 &+ v3; v3 = (v3 << 16) | (v3 >> 48); v3 ^= v2
        v0 = v0 &+ v3; v3 = (v3 << 21) | (v3 >> 43); v3 ^= v0
        v2 = v2 &+ v1; v1 = (v1 << 17) | (v1 >> 47); v1 ^= v2; v2 = (v2 << 32) | (v2 >> 32)
    }

    @inline(__always) private mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        v0 ^= m
    }

    package mutating func write(_ byte: UInt8) {
        tail |= UInt64(byte) << UInt64(tailBytes * 8)
        tailBytes += 1
        length += 1
        if tailBytes == 8 {
            compress(tail)
            tail = 0
            tailBytes = 0
        }
    }

    package mutating func write(_ word: UInt64) {
        if tailBytes == 0 {
            compress(word)
            length += 8
        } else {
            for shift in stride(from: 0, to: 64, by: 8) { write(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
    }

    package mutating func write(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while tailBytes != 0 && offset < bytes.count {
            write(bytes[offset])
            offset += 1
        }
        if tailBytes == 0 {
            let start = offset
            while offset + 8 <= bytes.count {
                compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            length += offset - start
        }
        while offset < bytes.count {
            write(bytes[offset])
            offset += 1
        }
    }

    package mutating func finalize() -> UInt64 {
        let b = (UInt64(truncatingIfNeeded: length) << 56) | tail
        compress(b)
        v2 ^= 0xFF
        round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
