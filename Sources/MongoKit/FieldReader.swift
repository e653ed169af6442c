import CMongoc
import Foundation

/// Reads a fixed set of dotted paths from each document of a scan in one walk over its top-level fields,
/// instead of one search per path: the fast path that lets several checks share a pass cheaply.
/// Not thread-safe; values read are valid until the next `load`.
public final class FieldReader {
    public let paths: [String]
    private let topNames: [[CChar]]
    private let pathsByTop: [[Int]]
    private let subPaths: [[CChar]?]
    private let slots: [OpaquePointer]
    private var found: [Bool]
    private let root: OpaquePointer
    private let child: OpaquePointer
    // Documents of a collection mostly repeat their fields in the same order: each position remembers the
    // name it held last and which path it fed, so that one comparison usually places a field.
    private var namesAtPosition: [[CChar]] = []
    private var topAtPosition: [Int] = []

    public init(paths: [String]) {
        _ = libmongocInitialized
        self.paths = paths
        var tops: [String] = []
        var byTop: [[Int]] = []
        var subs: [[CChar]?] = []
        for (index, path) in paths.enumerated() {
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            let top = parts[0]
            if let known = tops.firstIndex(of: top) {
                byTop[known].append(index)
            } else {
                tops.append(top)
                byTop.append([index])
            }
            subs.append(parts.count > 1 ? Array(parts[1].utf8CString) : nil)
        }
        topNames = tops.map { Array($0.utf8CString) }
        pathsByTop = byTop
        subPaths = subs
        slots = paths.map { _ in ma_iter_new()! }
        found = Array(repeating: false, count: paths.count)
        root = ma_iter_new()!
        child = ma_iter_new()!
    }

    deinit {
        slots.forEach { ma_iter_free($0) }
        ma_iter_free(root)
        ma_iter_free(child)
    }

    /// The index of a path given to `init`.
    public func index(of path: String) -> Int? { paths.firstIndex(of: path) }

    /// Finds every path in `document`.
    public func load(_ document: DocumentView) {
        for index in found.indices { found[index] = false }
        guard bson_iter_init(root, document.pointer) else { return }
        var position = 0
        while bson_iter_next(root) {
            let top = topIndex(of: bson_iter_key(root)!, at: position)
            position += 1
            guard top >= 0 else { continue }
            for path in pathsByTop[top] {
                if let sub = subPaths[path] {
                    let type = bson_iter_type(root).rawValue
                    guard type == 0x03 || type == 0x04, bson_iter_recurse(root, child) else { continue }
                    found[path] = sub.withUnsafeBufferPointer { bson_iter_find_descendant(child, $0.baseAddress!, slots[path]) }
                } else {
                    ma_iter_copy(slots[path], root)
                    found[path] = true
                }
            }
        }
    }

    private func topIndex(of key: UnsafePointer<CChar>, at position: Int) -> Int {
        if position < namesAtPosition.count,
            namesAtPosition[position].withUnsafeBufferPointer({ strcmp($0.baseAddress!, key) }) == 0
        {
            return topAtPosition[position]
        }
        let top = topNames.firstIndex { $0.withUnsafeBufferPointer { strcmp($0.baseAddress!, key) } == 0 } ?? -1
        let name = Array(UnsafeBufferPointer(start: key, count: strlen(key) + 1))
        if position < namesAtPosition.count {
            namesAtPosition[position] = name
            topAtPosition[position] = top
        } else {
            namesAtPosition.append(name)
            topAtPosition.append(top)
        }
        return top
    }

    private func typeCode(_ index: Int) -> UInt8? {
        found[index] ? UInt8(truncatingIfNeeded: bson_iter_type(slots[index]).rawValue) : nil
    }

    /// The BSON type at the path, or nil when the document lacks it.
    public func type(_ index: Int) -> BSONType? { typeCode(index).flatMap(BSONType.init(rawValue:)) }

    /// The value at the path as a Swift value (allocates for strings and documents).
    public func value(_ index: Int) -> BSONValue? { found[index] ? readValue(slots[index]) : nil }

    /// Any numeric value as a Double (int32, int64, double); nil for other types.
    public func number(_ index: Int) -> Double? {
        switch typeCode(index) {
        case 0x01: return bson_iter_double(slots[index])
        case 0x10: return Double(bson_iter_int32(slots[index]))
        case 0x12: return Double(bson_iter_int64(slots[index]))
        case 0x13: return readValue(slots[index]).doubleValue
        default: return nil
        }
    }

    /// A datetime as milliseconds since the epoch; nil for other types.
    public func dateMilliseconds(_ index: Int) -> Int64? {
        typeCode(index) == 0x09 ? bson_iter_date_time(slots[index]) : nil
    }

    public func bool(_ index: Int) -> Bool? { typeCode(index) == 0x08 ? bson_iter_bool(slots[index]) : nil }

    public func string(_ index: Int) -> String? {
        guard typeCode(index) == 0x02 else { return nil }
        var length: UInt32 = 0
        let chars = bson_iter_utf8(slots[index], &length)!
        return String(decoding: UnsafeRawBufferPointer(start: chars, count: Int(length)), as: UTF8.self)
    }

    /// A 64-bit hash of the value's type and bytes, equal for equal values of one type (for duplicate and
    /// reference checks that must not keep every value in memory). Nil when the path is missing or null.
    public func valueHash(_ index: Int) -> UInt64? {
        guard let code = typeCode(index), code != 0x0A else { return nil }
        var hasher = FNV1a()
        hasher.add(code)
        switch code {
        case 0x02:
            var length: UInt32 = 0
            let chars = bson_iter_utf8(slots[index], &length)!
            hasher.add(UnsafeRawBufferPointer(start: chars, count: Int(length)))
        case 0x01, 0x10, 0x12:
            // Numbers compare by value in MongoDB, so 1, 1.0 and NumberLong(1) hash alike.
            var value = number(index)!
            withUnsafeBytes(of: &value) { hasher.add($0) }
        case 0x09:
            var value = bson_iter_date_time(slots[index])
            withUnsafeBytes(of: &value) { hasher.add($0) }
        default:
            for byte in readValue(slots[index]).relaxedJSON.utf8 { hasher.add(byte) }
        }
        return hasher.value
    }
}

/// FNV-1a, 64 bit: stable across runs, fast for short values such as uuids.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { add(byte) }
    }
}
