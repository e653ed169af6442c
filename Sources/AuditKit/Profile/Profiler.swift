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
        hot.initialize(
            to: HotState(
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
        let walker = Walker(hot: hot, profiler: Unretained(self), document: index)
        if !walker.walkDocument(bytes, parent: -1, depth: 0, underArray: false) { malformed += 1 }
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

/// One walk over one document's bytes, through the kernel's bounds-checked `BSONCursor`: every value it
/// reads lies inside the bytes the cursor hands out. It reaches the profiler (a class) only on the rare
/// paths (a new path or a new top value), through an unretained reference the profiler's `add` keeps alive.
private struct Walker {
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

    /// The key last seen at a guessed path (it holds no NUL).
    @inline(__always) func key(of path: UnsafeMutablePointer<PathCounters>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: hot.pointee.keyArena + path.pointee.keyOffset, count: path.pointee.keyLength)
    }

    /// Walks the document `bytes`; false when they are malformed.
    func walkDocument(_ bytes: UnsafeRawBufferPointer, parent: Int, depth: Int, underArray: Bool) -> Bool {
        guard depth < 200 else { return false }
        var cursor = BSONCursor(bytes)
        var position = 0
        while true {
            let path: UnsafeMutablePointer<PathCounters>?
            let value: RawBSONValue
            if let guess = guessedChild(of: parent, position: position) {
                guard let element = cursor.next(expecting: key(of: guess)) else { break }
                value = element.value
                path =
                    element.matched
                    ? guess : lookUpChild(of: parent, position: position, key: element.name, depth: depth, underArray: underArray)
            } else {
                guard let element = cursor.next() else { break }
                value = element.value
                path = lookUpChild(of: parent, position: position, key: element.name, depth: depth, underArray: underArray)
            }
            position += 1
            guard record(value, path: path, depth: depth, underArray: underArray) else { return false }
        }
        return !cursor.isMalformed
    }

    /// Walks the array `bytes`, its elements all at one path; the element count, or nil when malformed.
    func walkArray(_ bytes: UnsafeRawBufferPointer, parent: UnsafeMutablePointer<PathCounters>, depth: Int) -> Int? {
        var cursor = BSONCursor(bytes)
        var elementPath: UnsafeMutablePointer<PathCounters>?
        var count = 0
        while let (_, value) = cursor.next() {
            if count == 0 { elementPath = self.elementPath(of: parent, depth: depth) }
            count += 1
            guard record(value, path: elementPath, depth: depth, underArray: true) else { return nil }
        }
        return cursor.isMalformed ? nil : count
    }

    /// Records a value (its size already checked by the cursor); false when its contents are malformed.
    func record(_ value: RawBSONValue, path: UnsafeMutablePointer<PathCounters>?, depth: Int, underArray: Bool) -> Bool {
        let type = value.type
        let bytes = value.bytes
        guard let slot = PathCounters.slot(of: type) else { return false }
        path?.pointee.seen(in: document, slot: slot)
        switch type {
        case 0x01:  // double
            let v = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
            if let path { number(v, hash: ValueHash.hashNumber(v), path) { .number(v) } }
        case 0x10:  // int32
            let raw = Int32(littleEndian: bytes.loadUnaligned(as: Int32.self))
            if let path { number(Double(raw), hash: ValueHash.hashNumber(Double(raw)), path) { .integer(Int64(raw)) } }
        case 0x12:  // int64
            let v = Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))
            if let path { number(Double(v), hash: ValueHash.hashInt64(v), path) { .integer(v) } }
        case 0x02, 0x0D, 0x0E:  // string, code, symbol: the text ends in a NUL
            guard bytes[bytes.count - 1] == 0 else { return false }
            if let path {
                let text = UnsafeRawBufferPointer(rebasing: bytes[4..<(bytes.count - 1)])
                if type == 0x02 {
                    let codePoints = Self.codePoints(text)
                    if codePoints < path.pointee.stringLengthMin { path.pointee.stringLengthMin = codePoints }
                    if codePoints > path.pointee.stringLengthMax { path.pointee.stringLengthMax = codePoints }
                    track(ValueHash.hash(tag: type, text), path, bytes: text.count) { .string(String(decoding: text, as: UTF8.self)) }
                } else {
                    other(ValueHash.hash(tag: type, text), path)
                }
            }
        case 0x03, 0x04:  // document, array
            if let path {
                other(ValueHash.hash(tag: type, bytes), path)
                if type == 0x04 {
                    guard let count = walkArray(bytes, parent: path, depth: depth + 1) else { return false }
                    if count < path.pointee.arrayLengthMin { path.pointee.arrayLengthMin = count }
                    if count > path.pointee.arrayLengthMax { path.pointee.arrayLengthMax = count }
                } else {
                    let parent = hot.pointee.counters.distance(to: path)
                    guard walkDocument(bytes, parent: parent, depth: depth + 1, underArray: underArray) else { return false }
                }
            }
        case 0x06, 0x0A, 0x7F, 0xFF:  // undefined, null, maxKey, minKey
            if let path, type != 0x0A { other(ValueHash.hash(tag: type, bits: 0), path) }
        case 0x08:  // bool
            if let path {
                let truth = bytes[0] != 0
                track(ValueHash.hash(tag: type, bits: UInt64(bytes[0])), path, bytes: 1) { .bool(truth) }
            }
        case 0x09:  // date
            let ms = Int64(littleEndian: bytes.loadUnaligned(as: Int64.self))
            if let path {
                if ms < path.pointee.dateMin { path.pointee.dateMin = ms }
                if ms > path.pointee.dateMax { path.pointee.dateMax = ms }
                other(ValueHash.hash(tag: type, bits: UInt64(bitPattern: ms)), path)
            }
        case 0x11:  // timestamp
            if let path { other(ValueHash.hash(tag: type, bits: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))), path) }
        case 0x0F:  // code with scope: at least its lengths, an empty code string and an empty scope
            guard bytes.count >= 14 else { return false }
            if let path { other(ValueHash.hash(tag: type, bytes), path) }
        default:  // binary, objectId, regex, dbPointer, decimal128: hashed as their bytes
            if let path { other(ValueHash.hash(tag: type, bytes), path) }
        }
        return true
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
