import Foundation

/// A HyperLogLog distinct-count estimator with 2^12 one-byte registers (4 KB): standard error
/// 1.04 / sqrt(4096) ≈ 1.6%, exact-ish below a few hundred values through linear counting.
public struct HyperLogLog: Sendable {
    public static let precision = 12
    public static let registerCount = 1 << precision
    /// The relative standard error of an estimate.
    public static let standardError = 1.04 / Double(registerCount).squareRoot()

    private var registers: [UInt8]

    public init() { registers = [UInt8](repeating: 0, count: Self.registerCount) }

    /// Adds a value by its 64-bit hash (which must be well mixed).
    public mutating func add(hash: UInt64) {
        registers.withUnsafeMutableBufferPointer { Self.add(hash: hash, to: $0.baseAddress!) }
    }

    /// The estimated number of distinct values added.
    public var estimate: Double {
        registers.withUnsafeBufferPointer { Self.estimate(of: $0) }
    }

    @inline(__always) static func add(hash: UInt64, to registers: UnsafeMutablePointer<UInt8>) {
        let index = Int(hash >> UInt64(64 - precision))
        let rest = (hash << UInt64(precision)) | (1 << UInt64(precision - 1))
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    static func estimate(of registers: UnsafeBufferPointer<UInt8>) -> Double {
        let m = Double(Self.registerCount)
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let raw = alpha * m * m / sum
        if raw <= 2.5 * m, zeros > 0 { return m * log(m / Double(zeros)) }
        return raw
    }
}

/// 64-bit hashing of a value's canonical bytes: a word-at-a-time multiply-rotate over the bytes, then a murmur3
/// finaliser so that the high bits HyperLogLog uses are well mixed.
enum ValueHash {
    @inline(__always) static func hash(tag: UInt8, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
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
    @inline(__always) static func hash(tag: UInt8, bits: UInt64) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(tag) ^ (8 << 8)
        h = (h ^ bits) &* 0xff51_afd7_ed55_8ccd
        h = (h << 31) | (h >> 33)
        return mix(h &* 0xc4ce_b9fe_1a85_ec53)
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
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
    static let numberTag: UInt8 = 0x01
    static func hashNumber(_ value: Double) -> UInt64 {
        let normalised = value == 0 ? 0.0 : (value.isNaN ? Double.nan : value)
        return hash(tag: numberTag, bits: normalised.bitPattern)
    }

    static func hashInt64(_ value: Int64) -> UInt64 {
        if let exact = Double(exactly: value) { return hashNumber(exact) }
        return hash(tag: 0x12, bits: UInt64(bitPattern: value))
    }
}
