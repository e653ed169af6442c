import CMongoc
import Foundation

// MongoDB's equality of BSON values, exactly: numbers by value across int32, int64, double and decimal128
// (int64 and decimal128 never through a double), -0 == 0, NaN == NaN (below every other number), strings
// and symbols equal when they hold the same text, documents and arrays element by element with the same
// rules. Everything here works on raw bytes, bounds-checked: a malformed value never reads outside its
// buffer, it only compares unequal to well-formed ones.

/// A BSON value where it lies: its type and its bytes (after the key). Valid as long as the bytes.
public struct RawBSONValue {
    public let type: UInt8
    public let bytes: UnsafeRawBufferPointer

    public init(type: UInt8, bytes: UnsafeRawBufferPointer) {
        self.type = type
        self.bytes = bytes
    }

    /// The value as a number key (nil for non-numeric types).
    public var number: NumberKey? {
        switch type {
        case 0x01: return bytes.count == 8 ? NumberKey(double: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))) : nil
        case 0x10: return bytes.count == 4 ? NumberKey(int: Int64(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))) : nil
        case 0x12: return bytes.count == 8 ? NumberKey(int: Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))) : nil
        case 0x13:
            guard bytes.count == 16 else { return nil }
            return NumberKey(decimalLow: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)),
                             high: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        default: return nil
        }
    }

    public var isNumber: Bool { type == 0x01 || type == 0x10 || type == 0x12 || type == 0x13 }

    /// The text of a string or symbol (without its length and NUL), nil for other types or a bad length.
    @inlinable public var text: UnsafeRawBufferPointer? {
        guard type == 0x02 || type == 0x0E, bytes.count >= 5 else { return nil }
        let length = Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))
        guard length >= 1, length + 4 == bytes.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length - 1)])
    }

    /// A datetime's milliseconds since the epoch.
    @inlinable public var dateMilliseconds: Int64? {
        guard type == 0x09, bytes.count == 8 else { return nil }
        return Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))
    }

    /// MongoDB's equality (see the top of this file).
    public func equals(_ other: RawBSONValue) -> Bool {
        var left = CanonicalBytes()
        var right = CanonicalBytes()
        BSONCanonical.write(self, to: &left)
        BSONCanonical.write(other, to: &right)
        return left.bytes == right.bytes
    }
}

/// A number as MongoDB compares it: one key per value, whatever its BSON type.
public enum NumberKey: Hashable, Sendable, Comparable {
    case nan
    case negativeInfinity
    /// Every integer that fits in an int64, zero and -0 included.
    case integer(Int64)
    /// Finite doubles that are not such integers (and decimals exactly equal to one).
    case double(Double)
    /// Finite decimals equal to no double: sign, coefficient (no trailing decimal zeros) and exponent.
    case decimal(negative: Bool, high: UInt64, low: UInt64, exponent: Int)
    case positiveInfinity

    public init(int: Int64) { self = .integer(int) }

    public init(double value: Double) {
        if value.isNaN {
            self = .nan
        } else if value.isInfinite {
            self = value < 0 ? .negativeInfinity : .positiveInfinity
        } else if value.rounded(.towardZero) == value, value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 {
            self = .integer(Int64(value))
        } else {
            self = .double(value)
        }
    }

    /// From the two little-endian halves of an IEEE 754-2008 decimal128 (BID encoding).
    public init(decimalLow low: UInt64, high: UInt64) {
        let negative = high >> 63 != 0
        var coefficientHigh: UInt64
        let exponent: Int
        if (high >> 61) & 3 == 3 {
            if (high >> 59) & 3 == 3 {
                if (high >> 58) & 1 == 1 { self = .nan } else { self = negative ? .negativeInfinity : .positiveInfinity }
                return
            }
            // The other form's coefficient is above 10^34 - 1: non-canonical, so zero.
            self = .integer(0)
            return
        } else {
            exponent = Int((high >> 49) & 0x3FFF) - 6176
            coefficientHigh = high & 0x0001_FFFF_FFFF_FFFF
        }
        var coefficient = U128(high: coefficientHigh, low: low)
        // 10^34 - 1 is the largest canonical coefficient; larger ones mean zero.
        if coefficient.isZero || coefficient > U128.maxCoefficient {
            self = .integer(0)
            return
        }
        var e = exponent
        while true {
            let (quotient, remainder) = coefficient.divided(by: 10)
            guard remainder == 0 else { break }
            coefficient = quotient
            e += 1
        }
        coefficientHigh = coefficient.high
        // An integer within the int64 range.
        if e >= 0, e <= 19, coefficient.high == 0 {
            var magnitude = coefficient.low
            var fits = true
            for _ in 0..<e {
                let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                if overflow { fits = false; break }
                magnitude = product
            }
            if fits {
                if !negative, magnitude <= UInt64(Int64.max) { self = .integer(Int64(magnitude)); return }
                if negative, magnitude <= UInt64(Int64.max) + 1 { self = .integer(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)); return }
            }
        }
        if let double = NumberKey.exactDouble(coefficient, exponent: e, negative: negative) {
            self = NumberKey(double: double)
            return
        }
        self = .decimal(negative: negative, high: coefficient.high, low: coefficient.low, exponent: e)
    }

    /// The double equal to coefficient x 10^exponent, when there is one.
    static func exactDouble(_ coefficient: U128, exponent: Int, negative: Bool) -> Double? {
        var c = coefficient
        var twos = 0
        var fives = 0
        if exponent >= 0 {
            guard exponent <= 22 else { return nil }  // 5^23 > 2^53
            twos = exponent
            fives = exponent
        } else {
            guard exponent >= -48 else { return nil }  // 5^49 > 10^34
            for _ in 0..<(-exponent) {
                let (q, r) = c.divided(by: 5)
                guard r == 0 else { return nil }
                c = q
            }
            twos = exponent
        }
        while !c.isZero, c.low & 1 == 0 {
            c = c.shiftedRight(1)
            twos += 1
        }
        guard c.high == 0, c.low < (1 << 53) else { return nil }
        var odd = c.low
        for _ in 0..<fives {
            let (product, overflow) = odd.multipliedReportingOverflow(by: 5)
            guard !overflow, product < (1 << 53) else { return nil }
            odd = product
        }
        let value = Double(sign: negative ? .minus : .plus, exponent: twos, significand: Double(odd))
        return value.isFinite ? value : nil
    }

    /// The value as a double, rounded (for display and approximate ordering only).
    public var approximateDouble: Double {
        switch self {
        case .nan: return .nan
        case .negativeInfinity: return -.infinity
        case .positiveInfinity: return .infinity
        case .integer(let i): return Double(i)
        case .double(let d): return d
        case .decimal(let negative, let high, let low, let exponent):
            let magnitude = Double(high) * 18_446_744_073_709_551_616.0 + Double(low)
            let value = magnitude * pow(10, Double(exponent))
            return negative ? -value : value
        }
    }

    /// MongoDB's order of numbers: NaN first, then by value.
    public static func < (lhs: NumberKey, rhs: NumberKey) -> Bool { compare(lhs, rhs) < 0 }

    public static func compare(_ lhs: NumberKey, _ rhs: NumberKey) -> Int {
        func rank(_ key: NumberKey) -> Int {
            switch key {
            case .nan: return 0
            case .negativeInfinity: return 1
            case .positiveInfinity: return 3
            default: return 2
            }
        }
        let (l, r) = (rank(lhs), rank(rhs))
        if l != r || l != 2 { return l < r ? -1 : (l > r ? 1 : 0) }
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.double(let a), .double(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.integer(let a), .double(let b)): return -compareDouble(b, a)
        case (.double(let a), .integer(let b)): return compareDouble(a, b)
        default:
            return BigRational(lhs).compare(BigRational(rhs))
        }
    }

    /// A finite double against an int64, exactly.
    private static func compareDouble(_ d: Double, _ i: Int64) -> Int {
        if d >= 9_223_372_036_854_775_808.0 { return 1 }
        if d < -9_223_372_036_854_775_808.0 { return -1 }
        let whole = Int64(d.rounded(.down))
        if whole != i { return whole < i ? -1 : 1 }
        return d > d.rounded(.down) ? 1 : 0
    }
}

/// An unsigned 128-bit integer, just what decimal coefficients need.
struct U128: Comparable, Hashable {
    var high: UInt64
    var low: UInt64

    static let maxCoefficient = U128(high: 0x0001_ED09_BEAD_87C0, low: 0x378D_8E63_FFFF_FFFF)  // 10^34 - 1

    var isZero: Bool { high == 0 && low == 0 }

    static func < (a: U128, b: U128) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }

    func divided(by divisor: UInt64) -> (U128, UInt64) {
        let (qHigh, rHigh) = high.quotientAndRemainder(dividingBy: divisor)
        let (qLow, r) = divisor.dividingFullWidth((rHigh, low))
        return (U128(high: qHigh, low: qLow), r)
    }

    func shiftedRight(_ n: Int) -> U128 { U128(high: high >> n, low: (low >> n) | (high << (64 - n))) }
}

/// An exact non-negative big integer (little-endian 32-bit words) for the rare comparisons of a decimal
/// with a double of nearly the same size.
struct BigUInt {
    var words: [UInt32]

    init(_ value: U128) {
        words = [UInt32(truncatingIfNeeded: value.low), UInt32(truncatingIfNeeded: value.low >> 32),
                 UInt32(truncatingIfNeeded: value.high), UInt32(truncatingIfNeeded: value.high >> 32)]
        trim()
    }

    mutating func trim() { while let last = words.last, last == 0 { words.removeLast() } }

    mutating func multiply(by factor: UInt32) {
        var carry: UInt64 = 0
        for index in words.indices {
            let product = UInt64(words[index]) * UInt64(factor) + carry
            words[index] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { words.append(UInt32(carry)) }
    }

    mutating func shiftLeft(_ bits: Int) {
        guard !words.isEmpty else { return }
        let wordShift = bits / 32
        let bitShift = bits % 32
        if bitShift != 0 {
            var carry: UInt32 = 0
            for index in words.indices {
                let word = words[index]
                words[index] = (word << UInt32(bitShift)) | carry
                carry = word >> UInt32(32 - bitShift)
            }
            if carry != 0 { words.append(carry) }
        }
        words.insert(contentsOf: repeatElement(0, count: wordShift), at: 0)
    }

    static func compare(_ a: BigUInt, _ b: BigUInt) -> Int {
        if a.words.count != b.words.count { return a.words.count < b.words.count ? -1 : 1 }
        for index in a.words.indices.reversed() where a.words[index] != b.words[index] {
            return a.words[index] < b.words[index] ? -1 : 1
        }
        return 0
    }
}

/// A finite number as sign x magnitude x 2^twos x 10^tens, compared exactly.
struct BigRational {
    let negative: Bool
    let magnitude: U128
    let twos: Int
    let tens: Int

    init(_ key: NumberKey) {
        switch key {
        case .integer(let i):
            negative = i < 0
            magnitude = U128(high: 0, low: i.magnitude)
            twos = 0
            tens = 0
        case .double(let d):
            negative = d < 0
            // d = significand x 2^(exponent - 52), with an integral 53-bit significand.
            if d.isNormal {
                magnitude = U128(high: 0, low: d.significandBitPattern | (1 << 52))
                twos = Int(d.exponent) - 52
            } else {
                magnitude = U128(high: 0, low: d.significandBitPattern)
                twos = -1074
            }
            tens = 0
        case .decimal(let n, let high, let low, let exponent):
            negative = n
            magnitude = U128(high: high, low: low)
            twos = 0
            tens = exponent
        default:
            negative = false
            magnitude = U128(high: 0, low: 0)
            twos = 0
            tens = 0
        }
    }

    func compare(_ other: BigRational) -> Int {
        let leftZero = magnitude.isZero
        let rightZero = other.magnitude.isZero
        if leftZero && rightZero { return 0 }
        let leftSign = leftZero ? 0 : (negative ? -1 : 1)
        let rightSign = rightZero ? 0 : (other.negative ? -1 : 1)
        if leftSign != rightSign { return leftSign < rightSign ? -1 : 1 }
        let magnitudeOrder = compareMagnitudes(other)
        return leftSign < 0 ? -magnitudeOrder : magnitudeOrder
    }

    private func compareMagnitudes(_ other: BigRational) -> Int {
        // Sizes first: log10 of each side, decided when they are clearly apart.
        let left = log10(max(Double(magnitude.high) * 1.8446744073709552e19 + Double(magnitude.low), 1)) + Double(tens) + Double(twos) * log10(2.0)
        let right = log10(max(Double(other.magnitude.high) * 1.8446744073709552e19 + Double(other.magnitude.low), 1)) + Double(other.tens) + Double(other.twos) * log10(2.0)
        if left < right - 2 { return -1 }
        if left > right + 2 { return 1 }
        // Exactly: bring both to integers by multiplying each by what the other's negative exponents need.
        var a = BigUInt(magnitude)
        var b = BigUInt(other.magnitude)
        func scale(_ value: inout BigUInt, twos: Int, tens: Int) {
            if tens > 0 { for _ in 0..<tens { value.multiply(by: 10) } }
            if twos > 0 { value.shiftLeft(twos) }
        }
        let minTwos = min(twos, other.twos, 0)
        let minTens = min(tens, other.tens, 0)
        scale(&a, twos: twos - minTwos, tens: tens - minTens)
        scale(&b, twos: other.twos - minTwos, tens: other.tens - minTens)
        return BigUInt.compare(a, b)
    }
}

/// A sink for canonical bytes: a buffer (for equality) or a hasher.
public protocol CanonicalSink {
    mutating func write(_ byte: UInt8)
    mutating func write(_ word: UInt64)
    mutating func write(_ bytes: UnsafeRawBufferPointer)
}

public struct CanonicalBytes: CanonicalSink {
    public var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ byte: UInt8) { bytes.append(byte) }
    public mutating func write(_ word: UInt64) { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ buffer: UnsafeRawBufferPointer) { bytes.append(contentsOf: buffer) }
}

/// Writes a canonical encoding of a BSON value: equal values (by MongoDB's rules) give equal bytes, and
/// unequal ones different bytes. Hashing it gives hashes consistent with that equality.
public enum BSONCanonical {
    /// MongoDB's canonical type order (strings and symbols share one).
    public static func typeOrder(_ type: UInt8) -> UInt8 {
        switch type {
        case 0xFF: return 1
        case 0x06: return 2  // undefined
        case 0x0A: return 5
        case 0x01, 0x10, 0x12, 0x13: return 10
        case 0x02, 0x0E: return 15
        case 0x03: return 20
        case 0x04: return 25
        case 0x05: return 30
        case 0x07: return 35
        case 0x08: return 40
        case 0x09: return 45
        case 0x11: return 47
        case 0x0B: return 50
        case 0x0C: return 55
        case 0x0D: return 60
        case 0x0F: return 65
        case 0x7F: return 127
        default: return 200
        }
    }

    /// The first word of each value holds its canonical type in the low byte and a kind or a length above.
    public static func write<Sink: CanonicalSink>(_ value: RawBSONValue, to sink: inout Sink) {
        let tag = UInt64(typeOrder(value.type))
        let bytes = value.bytes
        switch value.type {
        case 0x01, 0x10, 0x12, 0x13:
            guard let number = value.number else { writeMalformed(tag, bytes, to: &sink); return }
            switch number {
            case .nan: sink.write(tag)
            case .negativeInfinity: sink.write(tag | 1 << 8)
            case .integer(let i): sink.write(tag | 2 << 8); sink.write(UInt64(bitPattern: i))
            case .double(let d): sink.write(tag | 3 << 8); sink.write(d.bitPattern)
            case .decimal(let negative, let high, let low, let exponent):
                sink.write(tag | (negative ? 4 : 5) << 8); sink.write(high); sink.write(low); sink.write(UInt64(bitPattern: Int64(exponent)))
            case .positiveInfinity: sink.write(tag | 6 << 8)
            }
        case 0x02, 0x0E, 0x0D:
            guard let text = RawBSONValue(type: 0x02, bytes: bytes).text else { writeMalformed(tag, bytes, to: &sink); return }
            sink.write(tag | UInt64(text.count) << 8)
            sink.write(text)
        case 0x03, 0x04:
            sink.write(tag)
            writeDocument(bytes, names: value.type == 0x03, to: &sink)
        case 0x08:
            sink.write(tag | (bytes.count == 1 && bytes[0] != 0 ? 1 << 8 : 0))
        case 0x06, 0x0A, 0x7F, 0xFF:
            sink.write(tag)
        default:
            // Binary, ObjectId, date, timestamp, regex, DBPointer, code with scope: by their bytes.
            sink.write(tag | UInt64(bytes.count) << 8)
            sink.write(bytes)
        }
    }

    private static func writeMalformed<Sink: CanonicalSink>(_ tag: UInt64, _ bytes: UnsafeRawBufferPointer, to sink: inout Sink) {
        sink.write(tag | 0xEE << 8 | UInt64(bytes.count) << 16)
        sink.write(bytes)
    }

    /// Elements in order: for a document each name and value, for an array each value.
    static func writeDocument<Sink: CanonicalSink>(_ bytes: UnsafeRawBufferPointer, names: Bool, to sink: inout Sink) {
        var failed = false
        BSONElements.forEach(in: bytes) { name, value in
            sink.write(UInt8(1))
            if names {
                sink.write(UInt64(name.count))
                sink.write(name)
            }
            write(value, to: &sink)
        } onError: {
            failed = true
        }
        sink.write(UInt8(0))
        if failed { writeMalformed(0xEE, bytes, to: &sink) }
    }
}

/// Walks the elements of a BSON document or array given as its bytes, bounds-checked.
public enum BSONElements {
    /// Calls `body` with each element's name and value; `onError` when the bytes are malformed (the walk stops).
    public static func forEach(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, RawBSONValue) -> Void, onError: () -> Void = {}
    ) {
        guard bytes.count >= 5, Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self))) == bytes.count, bytes[bytes.count - 1] == 0 else {
            onError()
            return
        }
        let last = bytes.count - 1
        var offset = 4
        while offset < last {
            let type = bytes[offset]
            var keyEnd = offset + 1
            while keyEnd < last, bytes[keyEnd] != 0 { keyEnd += 1 }
            guard keyEnd < last, let size = valueSize(type, bytes, at: keyEnd + 1, limit: last), keyEnd + 1 + size <= last else {
                onError()
                return
            }
            body(UnsafeRawBufferPointer(rebasing: bytes[(offset + 1)..<keyEnd]),
                 RawBSONValue(type: type, bytes: UnsafeRawBufferPointer(rebasing: bytes[(keyEnd + 1)..<(keyEnd + 1 + size)])))
            offset = keyEnd + 1 + size
        }
    }

    /// The size of a value of `type` at `offset`, or nil when malformed or past `limit`.
    public static func valueSize(_ type: UInt8, _ bytes: UnsafeRawBufferPointer, at offset: Int, limit: Int) -> Int? {
        func int32(_ at: Int) -> Int { Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self))) }
        func lengthPrefixed(extra: Int, minimum: Int) -> Int? {
            guard offset + 4 <= limit else { return nil }
            let length = int32(offset)
            guard length >= minimum, length <= limit else { return nil }
            return 4 + extra + length
        }
        switch type {
        case 0x01, 0x09, 0x11, 0x12: return 8
        case 0x02, 0x0D, 0x0E: return lengthPrefixed(extra: 0, minimum: 1)
        case 0x03, 0x04, 0x0F: return lengthPrefixed(extra: 0, minimum: 5).map { $0 - 4 }
        case 0x05: return lengthPrefixed(extra: 1, minimum: 0)
        case 0x06, 0x0A, 0x7F, 0xFF: return 0
        case 0x07: return 12
        case 0x08: return 1
        case 0x0B:
            var end = offset
            while end < limit, bytes[end] != 0 { end += 1 }
            end += 1
            while end < limit, bytes[end] != 0 { end += 1 }
            guard end < limit else { return nil }
            return end + 1 - offset
        case 0x0C: return lengthPrefixed(extra: 12, minimum: 1)
        case 0x10: return 4
        case 0x13: return 16
        default: return nil
        }
    }
}

/// SipHash-1-3 with a 128-bit key: a keyed hash, so that nobody who does not know the run's random key
/// can build values that collide.
public struct SipHasher: CanonicalSink {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    private var tail: UInt64 = 0
    private var tailBytes = 0
    private var length = 0

    public init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736F_6D65_7073_6575
        v1 = key.1 ^ 0x646F_7261_6E64_6F6D
        v2 = key.0 ^ 0x6C79_6765_6E65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    /// A fresh random key.
    public static func randomKey() -> (UInt64, UInt64) {
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

    public mutating func write(_ byte: UInt8) {
        tail |= UInt64(byte) << UInt64(tailBytes * 8)
        tailBytes += 1
        length += 1
        if tailBytes == 8 {
            compress(tail)
            tail = 0
            tailBytes = 0
        }
    }

    public mutating func write(_ word: UInt64) {
        if tailBytes == 0 {
            compress(word)
            length += 8
        } else {
            for shift in stride(from: 0, to: 64, by: 8) { write(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
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

    public mutating func finalize() -> UInt64 {
        let b = (UInt64(truncatingIfNeeded: length) << 56) | tail
        compress(b)
        v2 ^= 0xFF
        round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension NumberKey {
    /// The number of a BSONValue (int32, int64, double, decimal128), exactly.
    public init?(_ value: BSONValue) {
        switch value {
        case .int32(let v): self = .integer(Int64(v))
        case .int64(let v): self = .integer(v)
        case .double(let v): self = NumberKey(double: v)
        case .decimal128(let text):
            var decimal = bson_decimal128_t()
            guard bson_decimal128_from_string(text, &decimal) else { return nil }
            self = NumberKey(decimalLow: decimal.low, high: decimal.high)
        default: return nil
        }
    }
}
