import Foundation
import MongoKit

/// A document check that also needs values from another collection (references: the target's values). The
/// auditor tells it how that collection is read in this audit; the check answers with itself, ready to run,
/// and with what it does in the other collection's shared pass, if anything: either that pass runs first
/// and collects what this check's pass needs, or it runs after and finishes the check (like a hash join
/// holding its smaller side). Either way each collection is read once.
package protocol CrossCollectionCheck: DocumentCheck {
    /// The other collection.
    var otherCollection: String { get }
    /// This check as it runs in one audit, and its rider on the other collection's pass.
    func arranged(_ reading: CrossCollectionReading, context: AuditContext) -> CrossCollectionArrangement
}

/// A cross-collection check as one audit runs it.
package struct CrossCollectionArrangement {
    package enum Rider {
        /// Nothing rides the other collection's pass.
        case none
        /// Rides the other collection's pass, which runs first, collecting what this check's pass needs.
        case collectsBefore(any PassRider)
        /// Rides the other collection's pass, which runs after this check's pass; the rider's output is the
        /// check's result (this check's own accumulator hands it what it collected and reports nothing).
        case finishesAfter(any PassRider)
    }

    package let check: any DocumentCheck
    package let rider: Rider

    package init(check: any DocumentCheck, rider: Rider = .none) {
        self.check = check
        self.rider = rider
    }
}

/// How a cross-collection check's two collections are read in one audit.
package struct CrossCollectionReading: Sendable {
    package enum OtherPass: Sendable {
        /// The other collection does not exist.
        case missing
        /// Its shared pass reads every document of it and can run before this check's pass (`before`), after
        /// it (`after`), or either (not both false).
        case whole(before: Bool, after: Bool)
        /// No such pass: it reads a sample, or it is the same collection.
        case unavailable
    }

    /// The sample this check's own pass reads (nil: every document).
    package let ownSampleSize: Int?
    package let otherPass: OtherPass
}

/// What a check of another collection does while a collection's shared pass visits its documents.
package protocol PassRider: Sendable {
    /// The dotted paths it reads.
    var fieldsRead: [String] { get }
    /// What it does, as `audit --plan` says it.
    var purpose: String { get }
    /// A fresh accumulator for one pass. Its output is reported only when it finishes a check (see
    /// `CrossCollectionArrangement.Rider.finishesAfter`); otherwise the check it serves reads what it collected.
    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator
}

/// The shared pass over one collection in an audit: its document checks, the riders of checks of other
/// collections, and the passes that must finish before it starts.
struct PassGroup {
    let collection: String
    var entries: [(offset: Int, configured: ConfiguredCheck)] = []
    var riders: [any PassRider] = []
    /// Checks of this pass whose results a later pass's rider gives (by spec position).
    var finishedLater: Set<Int> = []
    /// Riders of this pass that give a check's result: the rider's position in `riders`, and the check.
    var finishing: [(rider: Int, offset: Int, configured: ConfiguredCheck)] = []
    /// Collections whose passes collect what this one needs.
    var after: Set<String> = []
    /// The sample the pass reads (nil: every document).
    var sampleSize: Int?
}

extension Auditor {
    /// The audit's shared passes, each after the passes it depends on (otherwise by collection name). A
    /// cross-collection check rides the other collection's pass when that pass reads it whole, before or
    /// after its own as it chooses; otherwise (a sample, its own collection) it reads what it needs itself.
    func arrangePasses(context: AuditContext) -> [PassGroup] {
        let documentChecks = spec.checks.enumerated().filter { $0.element.check is any DocumentCheck }
        var groups: [String: PassGroup] = [:]
        for (offset, configured) in documentChecks {
            let collection = configured.check.collection ?? ""
            groups[collection, default: PassGroup(collection: collection)].entries.append((offset, configured))
        }
        func passSample(_ collection: String) -> Int? {
            sampleSize(
                for: groups[collection]?.entries.map(\.configured) ?? [],
                documents: try? context.database.collection(collection).estimatedDocumentCount())
        }
        for collection in groups.keys { groups[collection]!.sampleSize = passSample(collection) }
        func dependsOn(_ collection: String, _ other: String) -> Bool {
            var pending = [collection]
            var seen: Set<String> = []
            while let next = pending.popLast() {
                if next == other { return true }
                guard seen.insert(next).inserted else { continue }
                pending += groups[next]?.after ?? []
            }
            return false
        }
        for (offset, configured) in documentChecks {
            guard let check = configured.check as? any CrossCollectionCheck else { continue }
            let source = check.collection ?? ""
            if Self.isMissing(source, context: context) { continue }
            let target = check.otherCollection
            let otherPass: CrossCollectionReading.OtherPass
            if Self.isMissing(target, context: context) {
                otherPass = .missing
            } else if target == source || (groups[target]?.sampleSize ?? passSample(target)) != nil {
                otherPass = .unavailable
            } else {
                otherPass = .whole(before: !dependsOn(target, source), after: !dependsOn(source, target))
            }
            let arrangement = check.arranged(CrossCollectionReading(ownSampleSize: groups[source]?.sampleSize, otherPass: otherPass), context: context)
            let entries = groups[source]!.entries
            if let position = entries.firstIndex(where: { $0.offset == offset }) {
                groups[source]!.entries[position].configured = ConfiguredCheck(
                    check: arrangement.check, severity: configured.severity, timeLimitMS: configured.timeLimitMS, line: configured.line,
                    maxDocuments: configured.maxDocuments)
            }
            if case .none = arrangement.rider { continue }
            if groups[target] == nil { groups[target] = PassGroup(collection: target, sampleSize: passSample(target)) }
            switch arrangement.rider {
            case .none: break
            case .collectsBefore(let rider):
                groups[target]!.riders.append(rider)
                groups[source]!.after.insert(target)
            case .finishesAfter(let rider):
                let bound = groups[source]!.entries.first { $0.offset == offset }!.configured
                groups[target]!.finishing.append((groups[target]!.riders.count, offset, bound))
                groups[target]!.riders.append(rider)
                groups[target]!.after.insert(source)
                groups[source]!.finishedLater.insert(offset)
            }
        }
        return Self.ordered(Array(groups.values))
    }

    /// Kahn's order, by name among the passes ready at each step. A cycle (a check riding a pass that had to
    /// follow its own, against what `dependsOn` told it) is broken at the first waiting pass by name, which
    /// loses its dependencies still unplaced: every pass then depends only on passes before it, so the
    /// ordering ends and the scheduler, which waits on `after`, never waits for a pass that waits for it.
    static func ordered(_ groups: [PassGroup]) -> [PassGroup] {
        var ordered: [PassGroup] = []
        var placed: Set<String> = []
        var pending = groups.sorted { $0.collection < $1.collection }
        while !pending.isEmpty {
            let ready = pending.firstIndex { $0.after.isSubset(of: placed) } ?? 0
            var group = pending.remove(at: ready)
            group.after.formIntersection(placed)
            placed.insert(group.collection)
            ordered.append(group)
        }
        return ordered
    }
}

/// Hands out passes to the threads that run them, each pass once the passes it depends on have finished.
/// Sendable: `started` and `finished` are read and written only while holding `condition`; `groups` is a `let`.
final class PassScheduler: @unchecked Sendable {
    private let condition = NSCondition()
    private let groups: [PassGroup]
    private var started: Set<Int> = []
    private var finished: Set<String> = []

    init(_ groups: [PassGroup]) { self.groups = groups }

    /// The next pass to run, waiting while every pass left depends on one still running; nil when none is left.
    func next() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let left = groups.indices.filter { !started.contains($0) }
            guard !left.isEmpty else { return nil }
            if let ready = left.first(where: { groups[$0].after.isSubset(of: finished) }) {
                started.insert(ready)
                return ready
            }
            condition.wait()
        }
    }

    func finish(_ index: Int) {
        condition.lock()
        finished.insert(groups[index].collection)
        condition.broadcast()
        condition.unlock()
    }
}

/// Runs `body` on `count` threads at once (the caller's among them) and returns when every one has
/// returned. Unlike `DispatchQueue.concurrentPerform`, which runs no more iterations at once than there are
/// cores, all `count` start now: a pass mostly waits on the server, so `--parallel` above the core count
/// must still mean that many passes at once.
func runOnThreads(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else { return body(0) }
    withoutActuallyEscaping(body) { body in
        let shared = SharedBody(body)
        let done = DispatchGroup()
        for index in 1..<count {
            done.enter()
            let thread = Thread {
                shared.body?(index)
                done.leave()
            }
            thread.stackSize = 8 << 20  // as the main thread's: a scan may walk deeply nested documents
            thread.start()
        }
        body(0)
        done.wait()
        // The threads' blocks may outlive this call by a moment; they hold the box, no longer the closure.
        shared.body = nil
    }
}

/// The closure `runOnThreads` shares with its threads. Sound as concurrentPerform's own non-Sendable
/// closure is: it is set before any thread starts, called only by those threads and the caller, and
/// cleared after all have finished (the DispatchGroup orders each step), before anything it captures ends.
private final class SharedBody: @unchecked Sendable {
    var body: ((Int) -> Void)?
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}
