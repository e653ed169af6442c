/// The hashes a pass has seen: exactly while a table of them fits in its memory budget, then as a Bloom
/// filter (whose "seen" may be a false positive, so its repeats need verifying).
public struct SeenHashes {
    @usableFromInline var table: HashSet?
    @usableFromInline var filter: BloomFilter?
    private let exactBytes: Int

    /// `payloads`: whether the exact table keeps a 32-bit payload per hash (4 bytes more per slot).
    package init(expectedItems: Int, exactBytes: Int, payloads: Bool = false) {
        self.exactBytes = exactBytes
        if HashSet.bytes(forItems: expectedItems) <= exactBytes {
            table = HashSet(expectedItems: expectedItems, payloadBits: payloads ? FirstSightings.payloadBits : 0)
        } else {
            filter = BloomFilter(expectedItems: expectedItems)
        }
    }

    @inlinable public var isExact: Bool { filter == nil }

    /// Frees a Bloom filter once nothing will ask it again (it then says it has seen nothing).
    package mutating func release() {
        if filter != nil { filter = BloomFilter(expectedItems: 0) }
    }

    /// The hashes in the exact table (0 for a filter, which does not count them).
    @inlinable public var count: Int { table?.count ?? 0 }

    /// Whether the hash was (exactly, or with the filter probably) seen.
    @inlinable public func contains(_ hash: UInt64) -> Bool { table.map { $0.slot(of: hash) != nil } ?? filter!.contains(hash) }

    /// For merging: makes room in the exact table for `items` more hashes, within the budget; false (and no
    /// change) when the table is a filter or would outgrow the budget.
    package mutating func reserveExact(adding items: Int) -> Bool {
        guard table != nil else { return false }
        let needed = table!.count + items + 1
        if Double(needed) < Double(table!.capacity) * HashSet.maxLoad { return true }
        guard HashSet.bytes(forItems: needed) <= exactBytes else { return false }
        table!.grow(toHold: needed)
        return true
    }

    /// For merging, after `reserveExact`: adds a hash known to be new, with its payload.
    package mutating func insertFolded(_ hash: UInt64, payload: UInt32) {
        let slot = table!.insertReturningSlot(hash).slot
        table!.setPayload(slot, payload)
    }

    /// Each hash of the exact table with its payload.
    package func forEachPayload(_ body: (UInt64, UInt32) -> Void) { table?.forEachPayload(body) }

    /// Starts loading the memory that inserting the hash will touch.
    @inlinable public func prefetch(_ hash: UInt64) {
        if let table { table.prefetch(hash) } else { filter?.prefetch(hash) }
    }

    /// Adds the hash; returns true when it was (exactly, or with the filter probably) seen before.
    @inlinable public mutating func insert(_ hash: UInt64) -> Bool { insert(hash, recording: false).present }

    /// Adds the hash; returns whether it was seen before and, for a new hash in the exact table when
    /// `recording`, the slot whose payload to set (valid until the next insert).
    @inlinable public mutating func insert(_ hash: UInt64, recording: Bool) -> (present: Bool, slot: Int?) {
        if filter != nil { return (filter!.insert(hash), nil) }
        let (present, slot) = table!.insertReturningSlot(hash)
        if !present && recording {
            // Set the payload before the table may grow (growing moves payloads with their hashes).
            return (false, growIfFull() ? table?.slot(of: hash) : slot)
        }
        _ = growIfFull()
        return (present, nil)
    }

    /// The payload stored with a hash of the exact table.
    @inlinable public func payload(of hash: UInt64) -> UInt32? { table?.slot(of: hash).map { table!.payload($0) } }

    @inlinable public mutating func setPayload(_ slot: Int, _ value: UInt32) { table?.setPayload(slot, value) }

    /// Grows the table (or hands over to a Bloom filter) when it is full; true when the slots moved.
    @usableFromInline mutating func growIfFull() -> Bool {
        guard table != nil, table!.isFull else { return false }
        // The collection outgrew its estimate: double the table within the budget, else hand every hash
        // over to a Bloom filter sized for four times as many (a fuller filter only adds candidates for
        // the query to weed out; it never misses a repeat).
        if HashSet.bytes(forItems: table!.count * 2) <= exactBytes {
            table!.grow()
        } else {
            var bloom = BloomFilter(expectedItems: table!.count * 4)
            table!.forEach { _ = bloom.insert($0) }
            table = nil
            filter = bloom
        }
        return true
    }
}
