import Foundation
import MongoKit

/// Discovers every path of a collection's documents in one pass and keeps, per path, the figures of
/// `PathProfile`. It walks each document's raw BSON bytes itself (bounds-checked; a malformed document is
/// counted and skipped), so no Swift value is built per field. Memory is bounded: at most `maxPaths` paths
/// are tracked (about 6 KB each), later ones are only counted as dropped.
public final class CollectionProfiler {
    public let collection: String
    public let maxPaths: Int
    @exclusivity(unchecked) var paths: [PathStatistics] = []
    /// Child path index by (parent index, key) hash.
    @exclusivity(unchecked) var children: [UInt64: Int] = [:]
    @exclusivity(unchecked) var dropped = Set<String>()
    @exclusivity(unchecked) var droppedOverflow = false
    @exclusivity(unchecked) public private(set) var documents = 0
    @exclusivity(unchecked) public private(set) var malformed = 0
    /// Path index by (parent + 1) * cachedPositions + position of the key in the parent, as last seen:
    /// documents of one collection mostly share their key order, so a lookup is one comparison of key bytes.
    @exclusivity(unchecked) var shapeCache: [Int32] = []
    /// The last key of each path, laid end to end (length -1: array elements).
    @exclusivity(unchecked) var keyArena: [UInt8] = []
    @exclusivity(unchecked) var keyOffsets: [Int] = []
    @exclusivity(unchecked) var keyLengths: [Int] = []
    static let cachedPositions = 64

    public init(collection: String, maxPaths: Int = 2_000) {
        self.collection = collection
        self.maxPaths = maxPaths
    }

    /// Adds one document given as its raw BSON bytes.
    public func add(bytes: UnsafeRawBufferPointer) {
        let index = documents
        documents += 1
        var walker = Walker(bytes: bytes, profiler: self, document: index)
        if !walker.walkDocument(at: 0, parent: -1, depth: 0, underArray: false) { malformed += 1 }
    }

    public func add(_ document: Document) {
        document.bytes.withUnsafeBytes { add(bytes: $0) }
    }

    /// The path of the key at `position` of a document at `parent`: the path seen there last time when
    /// its key is the same, else a lookup.
    @inline(__always) func cachedChild(
        of parent: Int, position: Int, key: UnsafeRawBufferPointer, depth: Int, underArray: Bool
    ) -> PathStatistics? {
        guard position < Self.cachedPositions else { return child(of: parent, key: key, depth: depth, underArray: underArray) }
        let slot = (parent + 1) * Self.cachedPositions + position
        if slot < shapeCache.count {
            let index = Int(shapeCache[slot])
            if index >= 0, keyLengths[index] == key.count,
                key.isEmpty || keyArena.withUnsafeBytes({ memcmp($0.baseAddress! + keyOffsets[index], key.baseAddress!, key.count) == 0 })
            {
                return paths[index]
            }
        }
        let found = child(of: parent, key: key, depth: depth, underArray: underArray)
        if slot >= shapeCache.count { shapeCache.append(contentsOf: repeatElement(-1, count: slot + Self.cachedPositions - shapeCache.count)) }
        shapeCache[slot] = Int32(found?.index ?? -1)
        return found
    }

    /// The path at `parent` + `key` (`key` nil: the parent's array elements), created on first sight.
    @inline(__always) func child(
        of parent: Int, key: UnsafeRawBufferPointer?, depth: Int, underArray: Bool
    ) -> PathStatistics? {
        let keyHash = key.map { ValueHash.hash(tag: 0x03, $0) } ?? 0x5bd1_e995_a5a5_a5a5
        var slot = ValueHash.mix(keyHash ^ UInt64(bitPattern: Int64(parent &+ 1)) &* 0x9e37_79b9_7f4a_7c15)
        let name = { () -> String in
            let parentName = parent >= 0 ? self.paths[parent].name : ""
            guard let key else { return parentName + "[]" }
            let text = String(decoding: key, as: UTF8.self)
            return parentName.isEmpty ? text : parentName + "." + text
        }
        while let index = children[slot] {
            let stats = paths[index]
            if stats.matches(parent: parent, key: key) { return stats }
            slot &+= 1
        }
        let fullName = name()
        guard paths.count < maxPaths else {
            if dropped.count < 10_000 { dropped.insert(fullName) } else { droppedOverflow = true }
            return nil
        }
        let stats = PathStatistics(
            name: fullName, depth: depth, underArray: underArray, index: paths.count, parent: parent, key: key.map(Array.init))
        children[slot] = paths.count
        paths.append(stats)
        keyOffsets.append(keyArena.count)
        keyLengths.append(key?.count ?? -1)
        if let key { keyArena.append(contentsOf: key) }
        return stats
    }

    public var profile: CollectionProfile {
        CollectionProfile(
            collection: collection, documents: documents, malformedDocuments: malformed,
            paths: paths.map { $0.profile(totalDocuments: documents) }.sorted { $0.path < $1.path },
            droppedPaths: dropped.count, droppedPathsAtLeast: droppedOverflow, maxPaths: maxPaths)
    }
}

/// One walk over one document's bytes.
private struct Walker {
    let bytes: UnsafeRawBufferPointer
    let profiler: CollectionProfiler
    let document: Int

    func int32(_ at: Int) -> Int? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        return Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)))
    }

    func int64(_ at: Int) -> Int64? {
        guard at >= 0, at + 8 <= bytes.count else { return nil }
        return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    func double(_ at: Int) -> Double? {
        guard let bits = int64(at) else { return nil }
        return Double(bitPattern: UInt64(bitPattern: bits))
    }

    /// The end (one past the NUL) of a C string starting at `at`.
    func cStringEnd(_ at: Int, limit: Int) -> Int? {
        var i = at
        while i < limit {
            if bytes[i] == 0 { return i + 1 }
            i += 1
        }
        return nil
    }

    /// Walks the embedded document at `start`; false when the bytes are malformed.
    mutating func walkDocument(at start: Int, parent: Int, depth: Int, underArray: Bool) -> Bool {
        guard depth < 200, let length = int32(start), length >= 5, start + length <= bytes.count,
            bytes[start + length - 1] == 0
        else { return false }
        let end = start + length - 1
        var at = start + 4
        var position = 0
        while at < end {
            let type = bytes[at]
            let keyStart = at + 1
            guard let keyEnd = cStringEnd(keyStart, limit: end) else { return false }
            let key = UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(keyEnd - 1)])
            let stats = profiler.cachedChild(of: parent, position: position, key: key, depth: depth, underArray: underArray)
            position += 1
            guard let next = value(type: type, at: keyEnd, end: end, stats: stats, depth: depth, underArray: underArray)
            else { return false }
            at = next
        }
        return at == end
    }

    /// Records the value and returns where the next element starts.
    mutating func value(type: UInt8, at start: Int, end: Int, stats: PathStatistics?, depth: Int, underArray: Bool) -> Int? {
        stats?.seen(in: document, type: type)
        switch type {
        case 0x01:  // double
            guard let v = double(start) else { return nil }
            if let stats { number(v, hash: ValueHash.hashNumber(v), stats, json: .number(v)) }
            return start + 8
        case 0x10:  // int32
            guard let raw = int32(start) else { return nil }
            if let stats { number(Double(raw), hash: ValueHash.hashNumber(Double(raw)), stats, json: .integer(Int64(raw))) }
            return start + 4
        case 0x12:  // int64
            guard let v = int64(start) else { return nil }
            if let stats { number(Double(v), hash: ValueHash.hashInt64(v), stats, json: .integer(v)) }
            return start + 8
        case 0x02, 0x0D, 0x0E:  // string, code, symbol
            guard let length = int32(start), length >= 1, start + 4 + length <= end, bytes[start + 4 + length - 1] == 0 else { return nil }
            if let stats {
                let text = UnsafeRawBufferPointer(rebasing: bytes[(start + 4)..<(start + 4 + length - 1)])
                if type == 0x02 {
                    var codePoints = 0
                    for byte in text where byte & 0xC0 != 0x80 { codePoints += 1 }
                    if codePoints < stats.stringLengthMin { stats.stringLengthMin = codePoints }
                    if codePoints > stats.stringLengthMax { stats.stringLengthMax = codePoints }
                    stats.track(hash: ValueHash.hash(tag: type, text), .string(String(decoding: text, as: UTF8.self)))
                } else {
                    other(ValueHash.hash(tag: type, text), stats)
                }
            }
            return start + 4 + length
        case 0x03, 0x04:  // document, array
            guard let length = int32(start), length >= 5, start + length <= end else { return nil }
            if let stats {
                other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])), stats)
                let parent = stats.index
                if type == 0x04 {
                    var counter = ElementCounter()
                    guard walkArray(at: start, parent: parent, depth: depth + 1, counter: &counter) else { return nil }
                    if counter.count < stats.arrayLengthMin { stats.arrayLengthMin = counter.count }
                    if counter.count > stats.arrayLengthMax { stats.arrayLengthMax = counter.count }
                } else {
                    guard walkDocument(at: start, parent: parent, depth: depth + 1, underArray: underArray) else { return nil }
                }
            }
            return start + length
        case 0x05:  // binary
            guard let length = int32(start), length >= 0, start + 5 + length <= end else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 5 + length)])), stats) }
            return start + 5 + length
        case 0x06, 0x0A, 0x7F, 0xFF:  // undefined, null, maxKey, minKey
            if let stats, type != 0x0A { other(ValueHash.hash(tag: type, bits: 0), stats) }
            return start
        case 0x07:  // objectId
            guard start + 12 <= end else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 12)])), stats) }
            return start + 12
        case 0x08:  // bool
            guard start + 1 <= end else { return nil }
            if let stats { stats.track(hash: ValueHash.hash(tag: type, bits: UInt64(bytes[start])), .bool(bytes[start] != 0)) }
            return start + 1
        case 0x09:  // date
            guard let ms = int64(start) else { return nil }
            if let stats {
                if ms < stats.dateMin { stats.dateMin = ms }
                if ms > stats.dateMax { stats.dateMax = ms }
                other(ValueHash.hash(tag: type, bits: UInt64(bitPattern: ms)), stats)
            }
            return start + 8
        case 0x11:  // timestamp
            guard start + 8 <= end, let bits = int64(start) else { return nil }
            if let stats { other(ValueHash.hash(tag: type, bits: UInt64(bitPattern: bits)), stats) }
            return start + 8
        case 0x13:  // decimal128
            guard start + 16 <= end else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 16)])), stats) }
            return start + 16
        case 0x0B:  // regex
            guard let patternEnd = cStringEnd(start, limit: end), let optionsEnd = cStringEnd(patternEnd, limit: end) else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<optionsEnd])), stats) }
            return optionsEnd
        case 0x0C:  // dbPointer
            guard let length = int32(start), length >= 1, start + 4 + length + 12 <= end else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 16 + length)])), stats) }
            return start + 4 + length + 12
        case 0x0F:  // code with scope
            guard let length = int32(start), length >= 14, start + length <= end else { return nil }
            if let stats { other(ValueHash.hash(tag: type, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])), stats) }
            return start + length
        default:
            return nil
        }
    }

    struct ElementCounter { var count = 0 }

    mutating func walkArray(at start: Int, parent: Int, depth: Int, counter: inout ElementCounter) -> Bool {
        guard let length = int32(start), length >= 5, start + length <= bytes.count, bytes[start + length - 1] == 0 else { return false }
        let end = start + length - 1
        var at = start + 4
        var elementPath: PathStatistics?
        var looked = false
        while at < end {
            let type = bytes[at]
            guard let keyEnd = cStringEnd(at + 1, limit: end) else { return false }
            if !looked {
                elementPath = profiler.child(of: parent, key: nil, depth: depth, underArray: true)
                looked = true
            }
            counter.count += 1
            guard let next = value(type: type, at: keyEnd, end: end, stats: elementPath, depth: depth, underArray: true) else { return false }
            at = next
        }
        return at == end
    }

    @inline(__always) func number(_ value: Double, hash: UInt64, _ stats: PathStatistics, json: JSONValue) {
        if value < stats.numberMin { stats.numberMin = value }
        if value > stats.numberMax { stats.numberMax = value }
        stats.track(hash: hash, json)
    }

    /// A value whose distinct count is estimated but which is not kept among the top values.
    @inline(__always) func other(_ hash: UInt64, _ stats: PathStatistics) {
        stats.addDistinct(hash)
        stats.stopTracking()
    }
}
