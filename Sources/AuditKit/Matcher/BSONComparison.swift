import Foundation
import MongoKit
import ScanKernel

// MongoDB's order of BSON values, as the query matcher (`BSONElement::compareElements`) and aggregation
// (`Value::compare`) apply it. Numbers compare exactly through `NumberKey`; types rank as
// `canonicalizeBSONType` does (MinKey -1, missing and undefined 0, null 5, numbers 10, ...), which is
// `BSONCanonical.typeOrder` but for MinKey and undefined.

/// MongoDB's canonical rank of a type; nil (a missing value) ranks with undefined, as the server has it.
func canonicalRank(_ type: UInt8?) -> Int {
    guard let type else { return 0 }
    switch type {
    case 0xFF: return -1
    case 0x06: return 0
    default: return Int(BSONCanonical.typeOrder(type))
    }
}

extension RawBSONValue {
    /// The order of two values: negative, zero or positive. Values of different canonical ranks order by
    /// rank; within a rank as `BSONElement::compareElements` (strings bytewise, as the simple collation).
    func compare(_ other: RawBSONValue) -> Int {
        let leftRank = canonicalRank(type)
        let rightRank = canonicalRank(other.type)
        if leftRank != rightRank { return leftRank < rightRank ? -1 : 1 }
        switch type {
        case 0x01, 0x10, 0x12, 0x13:
            guard let left = number, let right = other.number else { return Self.compareBytes(bytes, other.bytes) }
            return NumberKey.compare(left, right)
        case 0x02, 0x0E, 0x0D:
            return Self.compareBytes(stringBytes ?? bytes, other.stringBytes ?? other.bytes)
        case 0x03, 0x04:
            return Self.compareDocuments(bytes, other.bytes)
        case 0x05:
            // Length first, then subtype and data.
            if bytes.count != other.bytes.count { return bytes.count < other.bytes.count ? -1 : 1 }
            return Self.compareBytes(bytes, other.bytes)
        case 0x08:
            let left = bytes.first ?? 0 != 0
            let right = other.bytes.first ?? 0 != 0
            return left == right ? 0 : (left ? 1 : -1)
        case 0x09:
            guard let left = dateMilliseconds, let right = other.dateMilliseconds else { return Self.compareBytes(bytes, other.bytes) }
            return left < right ? -1 : (left > right ? 1 : 0)
        case 0x11:
            guard bytes.count == 8, other.bytes.count == 8 else { return Self.compareBytes(bytes, other.bytes) }
            let left = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
            let right = UInt64(littleEndian: other.bytes.loadUnaligned(as: UInt64.self))
            return left < right ? -1 : (left > right ? 1 : 0)
        case 0x0B:
            // Pattern, then flags: each a C string, compared as strcmp does.
            return Self.compareBytes(bytes, other.bytes)
        case 0x0C:
            if bytes.count != other.bytes.count { return bytes.count < other.bytes.count ? -1 : 1 }
            return Self.compareBytes(bytes, other.bytes)
        case 0x0F:
            guard let (leftCode, leftScope) = codeWithScope, let (rightCode, rightScope) = other.codeWithScope else {
                return Self.compareBytes(bytes, other.bytes)
            }
            let codeOrder = Self.compareBytes(leftCode, rightCode)
            return codeOrder != 0 ? codeOrder : Self.compareDocuments(leftScope, rightScope)
        case 0x06, 0x0A, 0x7F, 0xFF:
            return 0
        default:
            // ObjectId and anything else of equal type: by bytes.
            return Self.compareBytes(bytes, other.bytes)
        }
    }

    /// The text of a string, symbol or JavaScript code value (without its length and NUL).
    var stringBytes: UnsafeRawBufferPointer? {
        guard type == 0x02 || type == 0x0E || type == 0x0D else { return nil }
        return RawBSONValue(type: 0x02, bytes: bytes).text
    }

    /// The code and scope of a JavaScript-with-scope value.
    private var codeWithScope: (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        guard bytes.count >= 14 else { return nil }
        let codeLength = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: Int32.self)))
        guard codeLength >= 1, 8 + codeLength + 5 <= bytes.count else { return nil }
        let code = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + codeLength - 1)])
        return (code, UnsafeRawBufferPointer(rebasing: bytes[(8 + codeLength)...]))
    }

    /// Bytewise, unsigned, a shorter prefix first (memcmp, then length).
    static func compareBytes(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
        let common = min(left.count, right.count)
        if common > 0, let l = left.baseAddress, let r = right.baseAddress {
            let order = memcmp(l, r, common)
            if order != 0 { return order < 0 ? -1 : 1 }
        }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }

    /// `BSONObj::woCompare` considering field names: element by element, each by canonical rank, then
    /// name, then value; the shorter document first.
    static func compareDocuments(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
        var leftCursor = BSONCursor(left)
        var rightCursor = BSONCursor(right)
        while true {
            let l = leftCursor.next()
            let r = rightCursor.next()
            guard let l else { return r == nil ? 0 : -1 }
            guard let r else { return 1 }
            let leftRank = canonicalRank(l.value.type)
            let rightRank = canonicalRank(r.value.type)
            if leftRank != rightRank { return leftRank < rightRank ? -1 : 1 }
            let nameOrder = compareBytes(l.name, r.name)
            if nameOrder != 0 { return nameOrder }
            let valueOrder = l.value.compare(r.value)
            if valueOrder != 0 { return valueOrder }
        }
    }
}
