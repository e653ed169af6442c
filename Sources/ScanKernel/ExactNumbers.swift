import Foundation

// Exact arithmetic for comparing numbers of different BSON types: what `NumberKey` needs, no more.

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
        words = [
            UInt32(truncatingIfNeeded: value.low), UInt32(truncatingIfNeeded: value.low >> 32),
            UInt32(truncatingIfNeeded: value.high), UInt32(truncatingIfNeeded: value.high >> 32),
        ]
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
        let right =
            log10(max(Double(other.magnitude.high) * 1.8446744073709552e19 + Double(other.magnitude.low), 1)) + Double(other.tens) + Double(other.twos)
            * log10(2.0)
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
