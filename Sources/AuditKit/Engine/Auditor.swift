import Foundation
import MongoKit

/// Runs the checks of a spec against one database, read-only.
public struct Auditor: Sendable {
    public let spec: AuditSpec
    public let maxTimeMS: Int
    /// The time limit of each server operation when none is given: the CLI's `--max-time-ms` default too.
    public static let defaultMaxTimeMS = 60_000
    public let scanOptions: ScanOptions
    /// How the report names the program that made it (`mongo-audit 0.2.0`, or an embedding application).
    public let tool: String
    /// Asked before each check (or each collection's shared pass): true ends the audit early, the checks
    /// not yet run reported as interrupted.
    public let shouldStop: (@Sendable () -> Bool)?
    /// Past this many seconds no new check or pass starts; the rest are reported as not run.
    public var budgetSeconds: Double?
    /// A collection with more documents is audited from a random sample of this many (a check's
    /// `max_documents` can lower it for its collection).
    public var maxDocuments: Int?
    /// How many collections are scanned at once.
    public var parallelScans = 1

    public init(
        spec: AuditSpec, maxTimeMS: Int = Auditor.defaultMaxTimeMS, scanOptions: ScanOptions = ScanOptions(), tool: String = "AuditKit",
        shouldStop: (@Sendable () -> Bool)? = nil
    ) {
        self.spec = spec
        self.maxTimeMS = maxTimeMS
        self.scanOptions = scanOptions
        self.tool = tool
        self.shouldStop = shouldStop
    }

    /// Audits `database`. Connection-level failures (unreachable, authentication, timeout, network) end the
    /// audit by throwing; a command the server refuses for a check marks that check as not run.
    public func run(on client: MongoClient, database name: String, failOn: Severity) throws -> AuditReport {
        let started = Date()
        try client.ping()
        let serverVersion = try client.serverVersion()
        let context = AuditContext(
            database: client.database(name), maxTimeMS: maxTimeMS, now: started, readPreference: scanOptions.readPreference,
            sampleSize: scanOptions.sampleSize)

        // Document checks of one collection share one pass over it; passes over different collections run
        // side by side up to `parallelScans`, each after the passes that collect what it needs.
        let groups = arrangePasses(context: context)
        let shared = SharedResults()
        let scheduler = PassScheduler(groups)
        runOnThreads(max(1, min(parallelScans, groups.count))) { _ in
            while let index = scheduler.next() {
                defer { scheduler.finish(index) }
                let group = groups[index]
                do {
                    if let stop = stopReason(after: shared.values, started: started) {
                        for (offset, configured) in group.entries { shared.set(offset, Self.notTried(configured, stop)) }
                        for finishing in group.finishing { shared.setIfAbsent(finishing.offset, Self.notTried(finishing.configured, stop)) }
                        continue
                    }
                    // Each pass has its own context: its time limit is its own, and contexts are not shared across threads.
                    let passContext = AuditContext(
                        database: context.database, maxTimeMS: maxTimeMS, now: started, readPreference: scanOptions.readPreference,
                        sampleSize: scanOptions.sampleSize)
                    let pass = try auditPass(group, context: passContext)
                    for (offset, result) in pass.own { shared.set(offset, result) }
                    // A check finished here keeps the result its own pass gave when that pass did not run it to the end.
                    for (offset, result) in pass.finished { shared.setIfAbsent(offset, result) }
                } catch {
                    shared.fail(error)
                }
            }
        }
        if let error = shared.failure { throw error }
        var results = shared.results

        for (offset, configured) in spec.checks.enumerated() where !(configured.check is any DocumentCheck) {
            let checkStarted = Date()
            context.maxTimeMS = configured.timeLimitMS ?? maxTimeMS
            if let stop = stopReason(after: results.values, started: started) {
                results[offset] = Self.notTried(configured, stop)
                continue
            }
            // A collection the audit reads from a sample (`--sample`, or beyond `--max-documents`) is sampled
            // for this check too: query_plans then executes its queries over their first documents only.
            let limited = maxDocuments != nil || configured.maxDocuments != nil
            context.sampleSize =
                limited
                ? sampleSize(
                    for: [configured], documents: configured.check.collection.flatMap { try? context.database.collection($0).estimatedDocumentCount() })
                : scanOptions.sampleSize
            if let collection = configured.check.collection, Self.isMissing(collection, context: context) {
                results[offset] = Self.missingCollectionResult(configured)
                continue
            }
            var result = Self.emptyResult(configured)
            result.record(try Self.refusalAsNotRun { try configured.check.run(in: context, severity: configured.severity) })
            result.durationSeconds = Date().timeIntervalSince(checkStarted)
            results[offset] = result
        }

        var checks = spec.checks.indices.map { offset in
            results[offset] ?? Self.notTried(spec.checks[offset], (.refused, "not run: the pass that finishes this check did not run"))
        }
        Self.annotate(&checks, spec: spec)
        return AuditReport(
            tool: tool, database: name, target: client.redactedURI, serverVersion: serverVersion, specFile: spec.file,
            specSHA256: spec.sha256, startedAt: started, durationSeconds: Date().timeIntervalSince(started),
            sampleSize: scanOptions.sampleSize, failOn: failOn, checks: checks)
    }

    /// One pass over a collection for its document checks (and riders): the results of its own checks (but
    /// those a later pass finishes, when this one ran them to the end) and of the checks its riders finish,
    /// by spec position.
    func auditPass(_ group: PassGroup, context: AuditContext) throws -> (own: [(Int, CheckResult)], finished: [(Int, CheckResult)]) {
        let entries = group.entries
        if Self.isMissing(group.collection, context: context) {
            return (entries.map { ($0.offset, Self.missingCollectionResult($0.configured)) }, [])
        }
        let checks = entries.map { $0.configured.check as! any DocumentCheck }
        let scanStarted = Date()
        context.maxTimeMS = entries.map { $0.configured.timeLimitMS ?? maxTimeMS }.max() ?? maxTimeMS
        var options = scanOptions
        options.sampleSize = group.sampleSize
        let finishing = Dictionary(uniqueKeysWithValues: group.finishing.map { ($0.rider, $0.configured) })
        let outcome = try Self.refusalAsNotRun { () -> ([Result<CheckOutput, Error>], [Result<CheckOutput, Error>], ScanSummary) in
            let scan = try CollectionScan(
                collection: context.database.collection(group.collection), checks: checks, riders: group.riders, context: context,
                options: options, maxTimeMS: context.maxTimeMS)
            let summary = try scan.run()
            // Riders hand what they collected to the checks they serve, or give the results of the checks they finish.
            var finished: [Result<CheckOutput, Error>] = []
            for (position, rider) in scan.accumulators.dropFirst(checks.count).enumerated() {
                if let configured = finishing[position] {
                    finished.append(Result { try rider.output(severity: configured.severity, scan: summary, context: context) })
                } else {
                    _ = try rider.output(severity: .info, scan: summary, context: context)
                }
            }
            let outputs = zip(entries, scan.accumulators).map { entry, accumulator in
                Result {
                    var output = try accumulator.output(severity: entry.configured.severity, scan: summary, context: context)
                    output.metrics["documentsScanned"] = .count(summary.scanned)
                    return output
                }
            }
            return (outputs, finished, summary)
        }
        let duration = Date().timeIntervalSince(scanStarted)
        func result(_ configured: ConfiguredCheck, _ output: Result<CheckOutput, Error>?, summary: ScanSummary?) throws -> CheckResult {
            var result = Self.emptyResult(configured)
            result.durationSeconds = duration
            switch outcome {
            case .ran:
                if let summary, summary.sampled { result.sample = CheckResult.Sample(size: summary.scanned, of: summary.total) }
                result.record(try Self.refusalAsNotRun { try output!.get() })
            case .refused(let cause, let reason): result.record(.refused(cause, reason))
            }
            return result
        }
        var own: [(Int, CheckResult)] = []
        for (position, entry) in entries.enumerated() {
            if case .ran(let (perCheck, _, summary)) = outcome {
                // Handed to the rider that finishes it, unless its output failed here.
                if group.finishedLater.contains(entry.offset), case .success = perCheck[position] { continue }
                own.append((entry.offset, try result(entry.configured, perCheck[position], summary: summary)))
            } else {
                own.append((entry.offset, try result(entry.configured, nil, summary: nil)))
            }
        }
        let finished = try group.finishing.enumerated().map { index, finishing in
            guard case .ran(let (_, outputs, _)) = outcome else { return (finishing.offset, try result(finishing.configured, nil, summary: nil)) }
            // The finished check's figures are of its own collection's pass, which its output says itself.
            return (finishing.offset, try result(finishing.configured, outputs[index], summary: nil))
        }
        return (own, finished)
    }

    /// The sample a pass for `configured` reads from a collection of `documents`: `--sample`, or above its
    /// document limit (`--max-documents`, `max_documents`) a sample of that many; nil for the whole collection.
    func sampleSize(for configured: [ConfiguredCheck], documents: Int?) -> Int? {
        let limit = (configured.compactMap(\.maxDocuments) + [maxDocuments].compactMap { $0 }).min()
        guard let limit, let documents, documents > limit else { return scanOptions.sampleSize }
        return min(scanOptions.sampleSize ?? limit, limit)
    }

    static func emptyResult(_ configured: ConfiguredCheck) -> CheckResult {
        CheckResult(
            check: configured.identifier, collection: configured.check.collection, severity: configured.severity,
            status: .passed, specLine: configured.line)
    }

    /// Each kind of check in the spec, once, amends its results with what other checks found.
    static func annotate(_ results: inout [CheckResult], spec: AuditSpec) {
        var seen = Set<ObjectIdentifier>()
        for configured in spec.checks {
            let type = Swift.type(of: configured.check)
            if seen.insert(ObjectIdentifier(type)).inserted { type.annotate(&results) }
        }
    }

    /// Whether a collection a check is about is missing, from `listCollections` (read once per audit). When
    /// the server will not say (no privilege for `listCollections`), the check runs and speaks for itself;
    /// views and empty collections are the checks' own findings.
    static func isMissing(_ collection: String, context: AuditContext) -> Bool {
        guard let infos = try? context.collections() else { return false }
        return !infos.contains { $0.name == collection }
    }

    /// A check about a collection that does not exist is not run: its one finding says so.
    static func missingCollectionResult(_ configured: ConfiguredCheck) -> CheckResult {
        var result = emptyResult(configured)
        let finding = configured.check.missingCollectionFinding(configured.check.collection ?? "", severity: configured.severity)
        result.record(.ran(CheckOutput(findings: [finding])))
        return result
    }

    /// Why no further check should start: the audit was asked to stop, its budget is spent, or the server
    /// became unreachable (each further check would wait out server selection for nothing).
    func stopReason(after results: some Sequence<CheckResult>, started: Date) -> (cause: NotRunCause, reason: String)? {
        if shouldStop?() == true { return (.interrupted, "the audit was stopped before this check ran") }
        if let budgetSeconds, Date().timeIntervalSince(started) > budgetSeconds {
            return (.overBudget, String(format: "not started: the audit's budget of %g s was spent", budgetSeconds))
        }
        if results.contains(where: { $0.notRunCause == .unreachable }) {
            return (.unreachable, "not tried: the server became unreachable during the audit")
        }
        return nil
    }

    static func notTried(_ configured: ConfiguredCheck, _ stop: (cause: NotRunCause, reason: String)) -> CheckResult {
        var result = emptyResult(configured)
        result.record(.refused(stop.cause, stop.reason))
        return result
    }

    /// A check the server cannot answer (missing privilege, unknown command, old server) or that ran out of
    /// its time limit did not run, and the audit goes on; connection-level errors (unreachable,
    /// authentication) still end the audit.
    static func refusalAsNotRun<T>(_ body: () throws -> T) throws -> CheckOutcome<T> {
        do {
            return .ran(try body())
        } catch MongoError.command(let error) {
            return .refused(.refused, "the server refused a command: \(error.message) (code \(error.code) \(error.codeName))")
        } catch MongoError.timeout(let message) {
            return .refused(.timedOut, "timed out: \(message)")
        } catch MongoError.serverSelection(let message), MongoError.network(let message) {
            return .refused(.unreachable, "server unreachable: \(message)")
        }
    }
}

extension CheckResult {
    /// Takes the output of a check that ran (failed when any finding is above info), or why it did not.
    mutating func record(_ outcome: CheckOutcome<CheckOutput>) {
        switch outcome {
        case .ran(let output):
            findings = output.findings
            metrics = output.metrics
            status = output.findings.contains { $0.severity > .info } ? .failed : .passed
        case .refused(let why, let text):
            status = .notRun
            notRunCause = why
            reason = text
        }
    }
}

/// Whether a check's server work ran, or why not.
enum CheckOutcome<T> {
    case ran(T)
    case refused(NotRunCause, String)
}

/// Results of passes running side by side, and the first error that must end the audit.
/// Sendable: `byOffset` and `error` are read and written only while holding `mutex`.
final class SharedResults: @unchecked Sendable {
    private let mutex = NSLock()
    private var byOffset: [Int: CheckResult] = [:]
    private var error: Error?

    func set(_ offset: Int, _ result: CheckResult) {
        mutex.lock()
        byOffset[offset] = result
        mutex.unlock()
    }

    func setIfAbsent(_ offset: Int, _ result: CheckResult) {
        mutex.lock()
        if byOffset[offset] == nil { byOffset[offset] = result }
        mutex.unlock()
    }

    func fail(_ error: Error) {
        mutex.lock()
        if self.error == nil { self.error = error }
        mutex.unlock()
    }

    var results: [Int: CheckResult] {
        mutex.lock()
        defer { mutex.unlock() }
        return byOffset
    }

    var values: [CheckResult] { Array(results.values) }

    var failure: Error? {
        mutex.lock()
        defer { mutex.unlock() }
        return error
    }
}
