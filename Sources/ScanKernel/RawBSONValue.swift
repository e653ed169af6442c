import Foundation

// MongoDB's equality of BSON values, exactly: numbers by value across int32, int64, double and decimal128
// (int64 and decimal128 never through a double), -0 == 0, NaN == NaN (below every other number), strings
// and symbols equal when they hold the same text, documents and arrays element by element with the same
// rules. Everything here works on raw bytes, bounds-checked: a malformed value never reads outside its
// buffer, it only compares unequal to well-formed ones.

// Sound because every read checks the value's own length first (a number's 4, 8 or 16 bytes, a string's
// prefix against the bytes it has); the bytes themselves are borrowed, valid while their owner's are (a
// FieldReader's until its next load, a document's while it is borrowed).

/// A BSON value where it lies: its type and its bytes (after the key). Valid as long as the bytes.
public struct RawBSONValue {
    public let type: UInt8
    public let bytes: UnsafeRawBufferPointer

    @inlinable public init(type: UInt8, bytes: UnsafeRawBufferPointer) {
        self.type = type
        self.bytes = bytes
    }

    /// The value as a number key (nil for non-numeric types).
    @inlinable public var number: NumberKey? {
        switch type {
        case 0x01: return bytes.count == 8 ? NumberKey(double: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))) : nil
        case 0x10: return bytes.count == 4 ? NumberKey(int: Int64(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))) : nil
        case 0x12: return bytes.count == 8 ? NumberKey(int: Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))) : nil
        case 0x13:
            guard bytes.count == 16 else { return nil }
            return NumberKey(
                decimalLow: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)),
                high: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        default: return nil
        }
    }

    @inlinable public var isNumber: Bool { type == 0x01 || type == 0x10 || type == 0x12 || type == 0x13 }

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
