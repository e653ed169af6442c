/// The figures a check accumulates over a pass, as a plain struct the check's own code mutates with
/// Swift's ordinary value semantics: `update { $0.live += 1 }`. The box is a class so that the pass can
/// hold accumulators by reference; its one stored property skips the dynamic exclusivity check that every
/// access to a class's stored `var` otherwise costs (per document, per figure).
///
/// Sound because an accumulator is used from one thread at a time: the pass that owns it visits it from
/// its own thread, and `merge` and `output` run after the passes joined. An `update` never re-enters the
/// same box (its body gets the state `inout` and cannot reach the box), so no two accesses overlap; the
/// static exclusivity checks still hold inside the body, on the struct.
public final class AccumulatorState<State> {
    @exclusivity(unchecked) @usableFromInline var state: State

    @inlinable public init(_ state: State) { self.state = state }

    /// The state as it is now (a copy).
    @inlinable public var value: State { state }

    /// Mutates the state; the only way to.
    @inlinable @inline(__always)
    public func update<Result>(_ body: (inout State) -> Result) -> Result { body(&state) }
}
