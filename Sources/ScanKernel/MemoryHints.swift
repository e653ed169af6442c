import CMongoc
import Foundation

/// Starts loading the cache line at `address` before it is written, so that the wait for memory overlaps
/// other work (a hash table much larger than the caches misses on nearly every probe). Only a hint: it
/// changes no result. Sound for any address: a prefetch is never a load, and the processor drops one
/// whose address is unmapped instead of faulting (`__builtin_prefetch`, which has no Swift spelling: the
/// one reason this module imports CMongoc, whose shim defines it).
@inlinable @inline(__always)
public func prefetchForWriting(_ address: UnsafeRawPointer) {
    ma_prefetch_for_write(address)
}

/// Asks the kernel to back `buffer` with 2 MB pages where it can (Linux, before the memory is first
/// touched). A table of many megabytes probed at random otherwise misses the TLB on nearly every probe as
/// well as the caches. Only a hint: it changes no result, and does nothing elsewhere or when refused.
/// Sound because it advises only whole pages inside `buffer`, which the caller owns, and advice never
/// changes the contents of memory.
public func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
        let hugePage = 2 << 20
        guard let base = buffer.baseAddress, buffer.count >= 2 * hugePage else { return }
        // Only whole 2 MB pages inside the buffer can be huge.
        let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(hugePage - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    #endif
}
