import Foundation

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

    @inlinable public init(int: Int64) { self = .integer(int) }

    @inlinable public init(double value: Double) {
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
    @inlinable public var approximateDouble: Double {
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
