/// A manually allocated array that grows by doubling: read in hot loops without the retain, release and
/// uniqueness check a Swift array costs there. Its owner calls `free` once, when it is done with it.
///
/// Sound because: it is a value with no copy-on-write, so its owner must not use a copy after `free` nor
/// free two copies; every owner (FieldReader) keeps one copy in a stored property and frees it in its
/// `deinit`. Indices are trusted (unchecked): callers index only below `count`, which they read first.
/// Elements are plain values (offsets, ids, buffers owned elsewhere), so `removeAll` and `free` need not
/// deinitialize them. Every member is inlinable: a generic called across modules unspecialised would
/// cost more than the retains it saves.
public struct GrowableTable<Element> {
    public var storage = UnsafeMutablePointer<Element>.allocate(capacity: 16)
    @usableFromInline var capacity = 16
    public var count = 0

    @inlinable public init() {}

    @inlinable public subscript(index: Int) -> Element {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// A view of the elements, valid until the next `append` or `free`.
    @inlinable public var elements: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: storage, count: count) }

    @inlinable public mutating func append(_ element: Element) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: storage, count: count)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        (storage + count).initialize(to: element)
        count += 1
    }

    /// Forgets the elements (they are plain values or owned elsewhere) and keeps the memory.
    @inlinable public mutating func removeAll() { count = 0 }

    @inlinable public func free() { storage.deallocate() }
}
