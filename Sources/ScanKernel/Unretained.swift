/// A reference to a class instance that does not retain it: reading it in a per-document loop costs no
/// retain and release (a loop over `[any DocumentAccumulator]` spent about 6% of an audit's CPU time on
/// them, measured).
///
/// Sound only while something else keeps the object alive for every use: each holder in this package
/// keeps it beside the owner that retains the object and uses it no longer than that owner lives (the
/// pass's array of accumulators, with `withExtendedLifetime` at the end of the pass; the profiler that
/// runs its own walker; a check's array of matchers). `with(as:)` downcasts without a check: sound
/// because the caller passes the object's own dynamic type, recorded from it when the reference was made.
public struct Unretained<Object: AnyObject> {
    @usableFromInline let reference: Unmanaged<Object>

    @inlinable public init(_ object: Object) { reference = .passUnretained(object) }

    /// Calls `body` with the object, which the caller's owner keeps alive.
    @inlinable @inline(__always)
    public func with<Result>(_ body: (Object) -> Result) -> Result {
        reference._withUnsafeGuaranteedRef(body)
    }

    /// Calls `body` with the object as `type`, which must be its dynamic type (or a superclass of it).
    @inlinable @inline(__always)
    public func with<Exact: AnyObject, Result>(as type: Exact.Type, _ body: (Exact) -> Result) -> Result {
        reference._withUnsafeGuaranteedRef { body(unsafeDowncast($0, to: Exact.self)) }
    }
}
