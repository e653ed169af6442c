// Unsafe buffer access (the probe loops, the prefetch) is sound because every index is below the slot
// count: `home` is the high half of key x count, and the probe wraps to 0 at the count. The table is never
// full (at most 70%), so a probe always meets an empty slot and ends.
/// An open-addressing set of 64-bit hashes (linear probing, at most 70% full; 0 marks an empty slot). With
/// payloads, the low `payloadBits` of each slot hold a payload instead of hash bits (the hashes put in must
/// have those bits clear): no array beside the table.
public struct HashSet {
    @usableFromInline var slots: [UInt64]
    /// The low bits of a slot that hold its payload (0: no payloads). All ones marks a payload not yet set.
    public let payloadMask: UInt64
    @usableFromInline var storedCount = 0
    @inlinable public var count: Int { storedCount }
    public static let maxLoad = 0.7

    package init(expectedItems: Int, payloadBits: Int = 0) {
        let capacity = Self.capacity(forItems: expectedItems)
        slots = Array(unsafeUninitializedCapacity: capacity) { buffer, count in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: 0)
            count = capacity
        }
        payloadMask = payloadBits == 0 ? 0 : (1 << UInt64(payloadBits)) - 1
    }

    @inlinable public var capacity: Int { slots.count }

    /// What a hash is stored as: itself (0 as 1, since 0 marks an empty slot) or, with payloads, itself
    /// beside a payload that is never 0.
    @inlinable @inline(__always) func key(_ hash: UInt64) -> UInt64 { payloadMask == 0 && hash == 0 ? 1 : hash & ~payloadMask }

    @inlinable public func payload(_ slot: Int) -> UInt32 { UInt32(truncatingIfNeeded: slots[slot] & payloadMask) }
    @inlinable public mutating func setPayload(_ slot: Int, _ value: UInt32) { slots[slot] = (slots[slot] & ~payloadMask) | (UInt64(value) & payloadMask) }

    /// The slot holding a hash, if any.
    @inlinable public func slot(of hash: UInt64) -> Int? {
        let key = key(hash)
        let capacity = slots.count
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            if slot & ~payloadMask == key { return index }
            index += 1
            if index == capacity { index = 0 }
        }
    }

    package static func capacity(forItems items: Int) -> Int { max(1024, Int(Double(items) / maxLoad) + 1) }
    package static func bytes(forItems items: Int) -> Int { capacity(forItems: items) * MemoryLayout<UInt64>.size }

    @inlinable public var isFull: Bool { Double(count) >= Double(slots.count) * Self.maxLoad }

    /// The slot where the search for a hash starts.
    @inlinable @inline(__always) func home(_ key: UInt64) -> Int {
        // The high half of key x capacity spreads keys over the slots without a division.
        Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    /// Starts loading the slot where the search for the hash starts.
    @inlinable public func prefetch(_ hash: UInt64) {
        let index = home(key(hash))
        slots.withUnsafeBufferPointer { prefetchForWriting($0.baseAddress! + index) }
    }

    /// Adds the hash; returns true when it was there already.
    @inlinable public mutating func insert(_ hash: UInt64) -> Bool { insertReturningSlot(hash).present }

    /// Adds the hash; returns whether it was there already and its slot.
    @inlinable public mutating func insertReturningSlot(_ hash: UInt64) -> (present: Bool, slot: Int) { insertStored(key(hash) | payloadMask) }

    /// Adds a slot's stored form (key and payload) unless its key is there.
    @inline(__always)
    @inlinable mutating func insertStored(_ stored: UInt64) -> (present: Bool, slot: Int) {
        let key = stored & ~payloadMask
        let capacity = slots.count
        var index = home(key)
        let mask = payloadMask
        return slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let slot = slots[index]
                if slot == 0 {
                    slots[index] = stored
                    storedCount += 1
                    return (false, index)
                }
                if slot & ~mask == key { return (true, index) }
                index += 1
                if index == capacity { index = 0 }
            }
        }
    }

    /// Each hash (with payloads: its bits above the payload's).
    package func forEach(_ body: (UInt64) -> Void) {
        for slot in slots where slot != 0 { body(slot & ~payloadMask) }
    }

    package func forEachPayload(_ body: (UInt64, UInt32) -> Void) {
        guard payloadMask != 0 else { return }
        for slot in slots where slot != 0 { body(slot & ~payloadMask, UInt32(truncatingIfNeeded: slot & payloadMask)) }
    }

    package mutating func grow() { grow(toHold: count * 2) }

    package mutating func grow(toHold items: Int) {
        var bigger = HashSet(expectedItems: items, payloadBits: payloadMask.nonzeroBitCount)
        for slot in slots where slot != 0 { _ = bigger.insertStored(slot) }
        self = bigger
    }
}
