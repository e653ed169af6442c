import Foundation
import MongoKit
import ScanKernel

/// Discovers every path of a collection's documents in one pass and keeps, per path, the figures of
/// `PathProfile`. It walks each document's raw BSON bytes itself (bounds-checked; a malformed document is
/// counted and skipped), so no Swift value is built per field, and the per-value figures live in plain memory
/// (`PathCounters`), so no reference is counted per value either.
///
/// Memory is bounded. At most `maxPaths` paths are tracked (about 6 KB each); a path first seen after that
/// is only counted as dropped (up to `droppedLimit` distinct ones), and nothing under it is walked. Top values
/// are kept while a path has at most 100 distinct values, each at most `topValueBytes` long, and while all
/// kept top values of the collection fit in `topValueBudget` bytes; past that the path keeps only its
/// distinct estimate.
public final class CollectionProfiler {
    public static let droppedLimit = 10_000
    public static let topValueBytes = 1_024
    public static let topValueBudget = 8 << 20
    /// Key positions per parent remembered by the shape cache.
    static let cachedPositions = 64

    public let collection: String
    public let maxPaths: Int
    @exclusivity(unchecked) public private(set) var documents = 0
    @exclusivity(unchecked) public private(set) var malformed = 0

    /// The state each value touches, in plain memory that the walk reads through a pointer (no reference counted).
    let hot: UnsafeMutablePointer<HotState>
    var counters: UnsafeMutablePointer<PathCounters> { hot.pointee.counters }
    @exclusivity(unchecked) var pathCount = 0
    @exclusivity(unchecked) var keyArenaUsed = 0
    @exclusivity(unchecked) var keyArenaCapacity = 4_096

    /// The cold state, touched when a path or a top value is first seen.
    @exclusivity(unchecked) var names: [String] = []
    @exclusivity(unchecked) var depths: [Int] = []
    @exclusivity(unchecked) var underArrays: [Bool] = []
    @exclusivity(unchecked) var topJSON: [[JSONValue]] = []
    @exclusivity(unchecked) var topValueBytesKept = 0
    /// Child path index by (parent index, key) hash, for shape-cache misses.
    @exclusivity(unchecked) var children: [UInt64: Int] = [:]
    /// Dropped paths by the same hash, so that a dropped path costs no name on later sight.
    @exclusivity(unchecked) var dropped = Set<UInt64>()
    @exclusivity(unchecked) var droppedOverflow = false

    public init(collection: String, maxPaths: Int = 2_000) {
        self.collection = collection
        self.maxPaths = max(maxPaths, 0)
        let shapeCacheCount = Self.cachedPositions * 16
        let shapeCache = UnsafeMutablePointer<Int32>.allocate(capacity: shapeCacheCount)
        shapeCache.initialize(repeating: 0, count: shapeCacheCount)
        hot = .allocate(capacity: 1)
        hot.initialize(to: HotState(
            counters: .allocate(capacity: max(maxPaths, 1)), shapeCache: shapeCache, shapeCacheCount: shapeCacheCount,
            keyArena: .allocate(byteCount: keyArenaCapacity, alignment: 1)))
    }

    deinit {
        for index in 0..<pathCount { counters[index].deallocate() }
        counters.deinitialize(count: pathCount)
        counters.deallocate()
        hot.pointee.shapeCache.deallocate()
        hot.pointee.keyArena.deallocate()
        hot.deallocate()
    }

    /// Adds one document given as its raw BSON bytes.
    public func add(bytes: UnsafeRawBufferPointer) {
        let index = documents
        documents += 1
        guard bytes.baseAddress != nil else {
            malformed += 1
            return
        }
        let walker = Walker(bytes: bytes, hot: hot, profiler: Unretained(self), document: index)
        if !walker.walkDocument(at: 0, parent: -1, depth: 0, underArray: false) { malformed += 1 }
    }

    public func add(_ document: Document) {
        document.bytes.withUnsafeBytes { add(bytes: $0) }
    }

    @inline(never) func cachedChildMiss(
        of parent: Int, slot: Int, key: UnsafeRawBufferPointer, depth: Int, underArray: Bool
    ) -> UnsafeMutablePointer<PathCounters>? {
        let found = child(of: parent, key: key, depth: depth, underArray: underArray)
        let count = hot.pointee.shapeCacheCount
        if slot >= count {
            let grown = max(slot + 1, count * 2)
            let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: grown)
            bigger.moveInitialize(from: hot.pointee.shapeCache, count: count)
            (bigger + count).initialize(repeating: 0, count: grown - count)
            hot.pointee.shapeCache.deallocate()
            hot.pointee.shapeCache = bigger
            hot.pointee.shapeCacheCount = grown
        }
        hot.pointee.shapeCache[slot] = found.map { Int32(counters.distance(to: $0) + 1) } ?? 0
        return found
    }

    /// The path at `parent` + `key` (`key` nil: the parent's array elements), created on first sight.
    @inline(never) func child(
        of parent: Int, key: UnsafeRawBufferPointer?, depth: Int, underArray: Bool
    ) -> UnsafeMutablePointer<PathCounters>? {
        let keyHash = key.map { ValueHash.hash(tag: 0x03, $0) } ?? 0x5bd1_e995_a5a5_a5a5
        let pathHash = ValueHash.mix(keyHash ^ UInt64(bitPattern: Int64(parent &+ 1)) &* 0x9e37_79b9_7f4a_7c15)
        var slot = pathHash
        while let index = children[slot] {
            if matches(counters[index], parent: parent, key: key) { return counters + index }
            slot &+= 1
        }
        guard pathCount < maxPaths else {
            if dropped.count < Self.droppedLimit { dropped.insert(pathHash) } else if !dropped.contains(pathHash) { droppedOverflow = true }
            return nil
        }
        let parentName = parent >= 0 ? names[parent] : ""
        let name: String
        if let key {
            let text = String(decoding: key, as: UTF8.self)
            name = parentName.isEmpty && parent < 0 ? text : parentName + "." + text
        } else {
            name = parentName + "[]"
        }
        let keyOffset = keyArenaUsed
        if let key, !key.isEmpty {
            if keyArenaUsed + key.count > keyArenaCapacity {
                let grown = max(keyArenaUsed + key.count, keyArenaCapacity * 2)
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 1)
                bigger.copyMemory(from: hot.pointee.keyArena, byteCount: keyArenaUsed)
                hot.pointee.keyArena.deallocate()
                hot.pointee.keyArena = bigger
                keyArenaCapacity = grown
            }
            (hot.pointee.keyArena + keyArenaUsed).copyMemory(from: key.baseAddress!, byteCount: key.count)
            keyArenaUsed += key.count
        }
        let index = pathCount
        (counters + index).initialize(to: PathCounters(parent: parent, keyOffset: keyOffset, keyLength: key?.count ?? -1))
        pathCount += 1
        children[slot] = index
        names.append(name)
        depths.append(depth)
        underArrays.append(underArray)
        topJSON.append([])
        return counters + index
    }

    private func matches(_ path: PathCounters, parent: Int, key: UnsafeRawBufferPointer?) -> Bool {
        guard path.parent == parent else { return false }
        guard let key else { return path.keyLength < 0 }
        return path.keyLength == key.count && (key.isEmpty || memcmp(hot.pointee.keyArena + path.keyOffset, key.baseAddress!, key.count) == 0)
    }

    /// A value not yet in the path's top-value table: added while the table and the budget have room.
    @inline(never) func addTopValue(_ path: UnsafeMutablePointer<PathCounters>, hash: UInt64, bytes: Int, _ value: () -> JSONValue) {
        guard path.pointee.topCount < PathCounters.topTrackingLimit, bytes <= Self.topValueBytes,
            topValueBytesKept + bytes <= Self.topValueBudget
        else {
            stopTracking(path)
            path.pointee.addDistinct(hash)
            return
        }
        let index = path.pointee.topCount
        path.pointee.topHashes[index] = hash
        path.pointee.topCounts[index] = 1
        path.pointee.topCount += 1
        topValueBytesKept += bytes
        topJSON[counters.distance(to: path)].append(value())
    }

    /// Ends the exact count of a path's values; its distinct estimate goes on from the values counted so far.
    @inline(never) func stopTracking(_ path: UnsafeMutablePointer<PathCounters>) {
        guard path.pointee.tracking else { return }
        path.pointee.addTrackedToDistinct()
        path.pointee.tracking = false
        path.pointee.topCount = 0
        topJSON[counters.distance(to: path)] = []
    }

    public var profile: CollectionProfile {
        CollectionProfile(
            collection: collection, documents: documents, malformedDocuments: malformed,
            paths: (0..<pathCount).map { index in
                counters[index].profile(
                    name: names[index], depth: depths[index], underArray: underArrays[index], topValues: topJSON[index],
                    totalDocuments: documents)
            }.sorted { $0.path < $1.path },
            droppedPaths: dropped.count, droppedPathsAtLeast: droppedOverflow, maxPaths: maxPaths)
    }
}

/// What the walk reads and updates per value: plain memory owned by the profiler.
struct HotState {
    /// The counters of each path: capacity `maxPaths`, never moved.
    var counters: UnsafeMutablePointer<PathCounters>
    /// Path index + 1 by (parent + 1) * cachedPositions + position of the key in the parent, as last seen
    /// (0: none): documents of one collection mostly share their key order, so a lookup is one comparison of key bytes.
    var shapeCache: UnsafeMutablePointer<Int32>
    var shapeCacheCount: Int
    /// The last key of each path, laid end to end.
    var keyArena: UnsafeMutableRawPointer
}

/// One walk over one document's bytes. It reaches the profiler (a class) only on the rare paths (a new path
/// or a new top value), through an unretained reference the profiler's `add` keeps alive.
private struct Walker {
    let bytes: UnsafeRawBufferPointer
    let hot: UnsafeMutablePointer<HotState>
    let profiler: Unretained<CollectionProfiler>
    let document: Int

    /// The path last seen at `position` of a document at `parent` (documents of one collection mostly share
    /// their key order), or nil.
    @inline(__always) func guessedChild(of parent: Int, position: Int) -> UnsafeMutablePointer<PathCounters>? {
        let slot = (parent + 1) * CollectionProfiler.cachedPositions + position
        guard position < CollectionProfiler.cachedPositions, slot < hot.pointee.shapeCacheCount else { return nil }
        let cached = Int(hot.pointee.shapeCache[slot])
        return cached > 0 ? hot.pointee.counters + (cached - 1) : nil
    }

    /// The path of `key` at `position` of a document at `parent` when the guess was wrong: a lookup, remembered.
    func lookUpChild(
        of parent: Int, position: Int, key: UnsafeRawBufferPointer, depth: Int, underArray: Bool
    ) -> UnsafeMutablePointer<PathCounters>? {
        profiler.with { profiler in
            position < CollectionProfiler.cachedPositions
                ? profiler.cachedChildMiss(
                    of: parent, slot: (parent + 1) * CollectionProfiler.cachedPositions + position, key: key, depth: depth,
                    underArray: underArray)
                : profiler.child(of: parent, key: key, depth: depth, underArray: underArray)
        }
    }

    /// The path of the elements of the array at `parent`, remembered by the parent.
    @inline(__always) func elementPath(of parent: UnsafeMutablePointer<PathCounters>, depth: Int) -> UnsafeMutablePointer<PathCounters>? {
        let cached = Int(parent.pointee.elementPath)
        if cached > 0 { return hot.pointee.counters + (cached - 1) }
        if cached < 0 { return nil }
        let index = hot.pointee.counters.distance(to: parent)
        let found = profiler.with { $0.child(of: index, key: nil, depth: depth, underArray: true) }
        parent.pointee.elementPath = found.map { Int32(hot.pointee.counters.distance(to: $0) + 1) } ?? -1
        return found
    }

    @inline(__always) func int32(_ at: Int) -> Int? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        return Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)))
    }

    @inline(__always) func int64(_ at: Int) -> Int64? {
        guard at >= 0, at + 8 <= bytes.count else { return nil }
        return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    /// The end (one past the NUL) of a C string starting at `at`: a byte loop for the usual short key, then memchr.
    @inline(__always) func cStringEnd(_ at: Int, limit: Int) -> Int? {
        var i = at
        let short = min(limit, at + 16)
        while i < short {
            if bytes[i] == 0 { return i + 1 }
            i += 1
        }
        guard i < limit, let nul = memchr(bytes.baseAddress! + i, 0, limit - i) else { return nil }
        return bytes.baseAddress!.distance(to: UnsafeRawPointer(nul)) + 1
    }

    /// Byte equality, a word at a time (keys are short: a call to memcmp costs more than the comparison).
    @inline(__always) static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    @inline(__always) func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress! + start, count: end - start)
    }

    /// Walks the embedded document at `start`; false when the bytes are malformed.
    func walkDocument(at start: Int, parent: Int, depth: Int, underArray: Bool) -> Bool {
        guard depth < 200, let length = int32(start), length >= 5, start + length <= bytes.count,
            bytes[start + length - 1] == 0
        else { return false }
        let end = start + length - 1
        var at = start + 4
        var position = 0
        while at < end {
            let type = bytes[at]
            let keyStart = at + 1
            let path: UnsafeMutablePointer<PathCounters>?
            let keyEnd: Int
            // The guessed key's bytes and its NUL terminator, compared a word at a time, find both the key's end
            // and its path (a cached key holds no NUL, so a match is the whole key).
            if let guess = guessedChild(of: parent, position: position), keyStart + guess.pointee.keyLength < end,
                bytes[keyStart + guess.pointee.keyLength] == 0,
                Self.equal(UnsafeRawPointer(hot.pointee.keyArena + guess.pointee.keyOffset), bytes.baseAddress! + keyStart, count: guess.pointee.keyLength)
            {
                path = guess
                keyEnd = keyStart + guess.pointee.keyLength + 1
            } else {
                guard let found = cStringEnd(keyStart, limit: end) else { return false }
                keyEnd = found
                path = lookUpChild(of: parent, position: position, key: slice(keyStart, keyEnd - 1), depth: depth, underArray: underArray)
            }
            position += 1
            guard let next = value(type: type, at: keyEnd, end: end, path: path, depth: depth, underArray: underArray)
            else { return false }
            at = next
        }
        return at == end
    }

    /// Walks the array at `start`, its elements all at one path; the element count, or nil when malformed.
    func walkArray(at start: Int, parent: UnsafeMutablePointer<PathCounters>, depth: Int) -> Int? {
        guard let length = int32(start), length >= 5, start + length <= bytes.count, bytes[start + length - 1] == 0 else { return nil }
        let end = start + length - 1
        var at = start + 4
        var elementPath: UnsafeMutablePointer<PathCounters>?
        var count = 0
        while at < end {
            let type = bytes[at]
            guard let keyEnd = cStringEnd(at + 1, limit: end) else { return nil }
            if count == 0 { elementPath = self.elementPath(of: parent, depth: depth) }
            count += 1
            guard let next = value(type: type, at: keyEnd, end: end, path: elementPath, depth: depth, underArray: true) else { return nil }
            at = next
        }
        return at == end ? count : nil
    }

    /// Records the value and returns where the next element starts.
    func value(type: UInt8, at start: Int, end: Int, path: UnsafeMutablePointer<PathCounters>?, depth: Int, underArray: Bool) -> Int? {
        guard let slot = PathCounters.slot(of: type) else { return nil }
        path?.pointee.seen(in: document, slot: slot)
        switch type {
        case 0x01:  // double
            guard let bits = int64(start) else { return nil }
            let v = Double(bitPattern: UInt64(bitPattern: bits))
            if let path { number(v, hash: ValueHash.hashNumber(v), path) { .number(v) } }
            return start + 8
        case 0x10:  // int32
            guard let raw = int32(start) else { return nil }
            if let path { number(Double(raw), hash: ValueHash.hashNumber(Double(raw)), path) { .integer(Int64(raw)) } }
            return start + 4
        case 0x12:  // int64
            guard let v = int64(start) else { return nil }
            if let path { number(Double(v), hash: ValueHash.hashInt64(v), path) { .integer(v) } }
            return start + 8
        case 0x02, 0x0D, 0x0E:  // string, code, symbol
            guard let length = int32(start), length >= 1, start + 4 + length <= end, bytes[start + 4 + length - 1] == 0 else { return nil }
            if let path {
                let text = slice(start + 4, start + 4 + length - 1)
                if type == 0x02 {
                    let codePoints = Self.codePoints(text)
                    if codePoints < path.pointee.stringLengthMin { path.pointee.stringLengthMin = codePoints }
                    if codePoints > path.pointee.stringLengthMax { path.pointee.stringLengthMax = codePoints }
                    track(ValueHash.hash(tag: type, text), path, bytes: text.count) { .string(String(decoding: text, as: UTF8.self)) }
                } else {
                    other(ValueHash.hash(tag: type, text), path)
                }
            }
            return start + 4 + length
        case 0x03, 0x04:  // document, array
            guard let length = int32(start), length >= 5, start + length <= end else { return nil }
            if let path {
                other(ValueHash.hash(tag: type, slice(start, start + length)), path)
                if type == 0x04 {
                    guard let count = walkArray(at: start, parent: path, depth: depth + 1) else { return nil }
                    if count < path.pointee.arrayLengthMin { path.pointee.arrayLengthMin = count }
                    if count > path.pointee.arrayLengthMax { path.pointee.arrayLengthMax = count }
                } else {
                    let parent = hot.pointee.counters.distance(to: path)
                    guard walkDocument(at: start, parent: parent, depth: depth + 1, underArray: underArray) else { return nil }
                }
            }
            return start + length
        case 0x05:  // binary
            guard let length = int32(start), length >= 0, start + 5 + length <= end else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, start + 5 + length)), path) }
            return start + 5 + length
        case 0x06, 0x0A, 0x7F, 0xFF:  // undefined, null, maxKey, minKey
            if let path, type != 0x0A { other(ValueHash.hash(tag: type, bits: 0), path) }
            return start
        case 0x07:  // objectId
            guard start + 12 <= end else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, start + 12)), path) }
            return start + 12
        case 0x08:  // bool
            guard start + 1 <= end else { return nil }
            if let path {
                let truth = bytes[start] != 0
                track(ValueHash.hash(tag: type, bits: UInt64(bytes[start])), path, bytes: 1) { .bool(truth) }
            }
            return start + 1
        case 0x09:  // date
            guard let ms = int64(start) else { return nil }
            if let path {
                if ms < path.pointee.dateMin { path.pointee.dateMin = ms }
                if ms > path.pointee.dateMax { path.pointee.dateMax = ms }
                other(ValueHash.hash(tag: type, bits: UInt64(bitPattern: ms)), path)
            }
            return start + 8
        case 0x11:  // timestamp
            guard start + 8 <= end, let bits = int64(start) else { return nil }
            if let path { other(ValueHash.hash(tag: type, bits: UInt64(bitPattern: bits)), path) }
            return start + 8
        case 0x13:  // decimal128
            guard start + 16 <= end else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, start + 16)), path) }
            return start + 16
        case 0x0B:  // regex
            guard let patternEnd = cStringEnd(start, limit: end), let optionsEnd = cStringEnd(patternEnd, limit: end) else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, optionsEnd)), path) }
            return optionsEnd
        case 0x0C:  // dbPointer
            guard let length = int32(start), length >= 1, start + 4 + length + 12 <= end else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, start + 16 + length)), path) }
            return start + 4 + length + 12
        case 0x0F:  // code with scope
            guard let length = int32(start), length >= 14, start + length <= end else { return nil }
            if let path { other(ValueHash.hash(tag: type, slice(start, start + length)), path) }
            return start + length
        default:
            return nil
        }
    }

    /// Unicode code points of UTF-8 text: the bytes that do not continue a sequence, eight at a time.
    @inline(__always) static func codePoints(_ text: UnsafeRawBufferPointer) -> Int {
        let n = text.count
        var continuations = 0
        var i = 0
        while i + 8 <= n {
            let word = text.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // A continuation byte is 10xxxxxx: bit 7 set and bit 6 clear.
            continuations += (word & ~(word << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
            i += 8
        }
        if i < n, n >= 8 {
            // The last n - i bytes, from the last eight (the shifted-in zeros continue nothing).
            let word = UInt64(littleEndian: text.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) >> UInt64(8 * (8 - (n - i)))
            continuations += (word & ~(word << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
            i = n
        }
        while i < n {
            if text[i] & 0xC0 == 0x80 { continuations += 1 }
            i += 1
        }
        return n - continuations
    }

    @inline(__always) func number(_ value: Double, hash: UInt64, _ path: UnsafeMutablePointer<PathCounters>, _ json: () -> JSONValue) {
        if value < path.pointee.numberMin { path.pointee.numberMin = value }
        if value > path.pointee.numberMax { path.pointee.numberMax = value }
        track(hash, path, bytes: 8, json)
    }

    /// A value counted among the top values while they are few, and estimated once they are not. While the
    /// table counts a path's values exactly, the HyperLogLog registers are left alone (they would receive only the
    /// table's hashes, which `stopTracking` adds at once): most values of few distinct ones then touch no register.
    @inline(__always) func track(_ hash: UInt64, _ path: UnsafeMutablePointer<PathCounters>, bytes: Int, _ json: () -> JSONValue) {
        guard path.pointee.tracking else { return path.pointee.addDistinct(hash) }
        guard !path.pointee.countKnown(hash) else { return }
        profiler.with { $0.addTopValue(path, hash: hash, bytes: bytes, json) }
    }

    /// A value whose distinct count is estimated but which is not kept among the top values.
    @inline(__always) func other(_ hash: UInt64, _ path: UnsafeMutablePointer<PathCounters>) {
        if path.pointee.tracking { profiler.with { $0.stopTracking(path) } }
        path.pointee.addDistinct(hash)
    }
}
