// Unsafe buffer access is sound because a block index is the high half of a 32-bit value x the block
// count, always below it.
/// A split-block Bloom filter over 64-bit hashes (the layout Parquet and Impala use): each value sets one
/// bit in each of eight 32-bit words of one 32-byte block, so an insert touches one cache line. At 16 bits
/// per item its false-positive rate is about 0.1% to 0.2%.
public struct BloomFilter {
    @usableFromInline var blocks: [SIMD8<UInt32>]
    @usableFromInline static let salts = SIMD8<UInt32>(
        0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31)

    package init(expectedItems: Int) {
        // 16 bits per item, in 256-bit blocks.
        blocks = Array(repeating: SIMD8(repeating: 0), count: max(256, expectedItems / 16 + 1))
    }

    /// Starts loading the block of the hash.
    @inlinable public func prefetch(_ hash: UInt64) {
        let index = Int(truncatingIfNeeded: ((mix(hash) >> 32) &* UInt64(blocks.count)) >> 32)
        blocks.withUnsafeBufferPointer { prefetchForWriting($0.baseAddress! + index) }
    }

    /// Adds the hash; returns true when it was (probably) there already.
    @inlinable public mutating func insert(_ hash: UInt64) -> Bool {
        let mixed = mix(hash)
        // The high half of (high 32 bits x block count) picks a block without a division.
        let index = Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(blocks.count)) >> 32)
        let key = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: mixed)) &* Self.salts
        let bits = SIMD8<UInt32>(repeating: 1) &<< (key &>> 27)
        return blocks.withUnsafeMutableBufferPointer { blocks in
            let block = blocks[index]
            let present = (block & bits) == bits
            blocks[index] = block | bits
            return present
        }
    }

    /// Whether the hash was (probably) added.
    @inlinable public func contains(_ hash: UInt64) -> Bool {
        let mixed = mix(hash)
        let index = Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(blocks.count)) >> 32)
        let key = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: mixed)) &* Self.salts
        let bits = SIMD8<UInt32>(repeating: 1) &<< (key &>> 27)
        return (blocks[index] & bits) == bits
    }

    @inlinable func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
