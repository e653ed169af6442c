import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// The data-quality gate end to end, with the built binary against a real server: baselines, history,
/// regressions, trend, diff, and the HTML, SARIF and GitHub formats.
final class GateCommandTests: XCTestCase {
    var databaseName = ""
    var client: MongoClient!
    var directory: URL!
    var spec = ""

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("gate")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        spec = path("spec.yml")
        try """
        version: 1
        checks:
          - check: critical_indexes
            collection: recordings
            indexes:
              - keys: {start_time: 1}
              - keys: {uuid: 1}
          - check: field_completeness
            collection: recordings
            fields:
              uuid: {types: [string]}
              sample_rate: {types: [number], min_complete: 0.995}
          - check: value_rules
            collection: recordings
            rules:
              - field: channels.min
                min: 1
        regressions:
          - metric: "field_completeness/recordings/completeness:*.share"
            worse: down
            threshold: 0.05
            severity: high
        tolerances:
          value_rules: 2
        """.write(toFile: spec, atomically: true, encoding: .utf8)
        try SampleDatabase(recordingCount: 2_000).create(in: client.database(databaseName))
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
        try? client?.database(databaseName + "_history").drop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(try mongoAuditBinary(), arguments, environment: environment)
    }

    func audit(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(["audit", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec] + arguments, environment: environment)
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// The database gets worse: documents lacking sample_rate (and breaking channels.min) arrive, the
    /// start_time index is dropped; and one thing gets better: the uuid index is created.
    func degrade() throws {
        let recordings = client.database(databaseName).collection("recordings")
        try recordings.insertMany((0..<300).map { i in ["uuid": .string("late-\(i)"), "channels": .document(["min": .int32(i < 12 ? 0 : 2)])] })
        _ = try recordings.dropIndex(named: "start_time_1")
        _ = try recordings.createIndexes([IndexSpec(keys: [IndexKey(field: "uuid", kind: "1")])])
    }

    func testDegradingDatabaseYieldsNewWorseFixedAndARegressionWhileKnownFindingsPass() throws {
        let baseline = path("baseline.json"), history = path("history.jsonl")
        let written = try run(["baseline", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec, "--output", baseline])
        XCTAssertEqual(written.status, 0, written.stdout + written.stderr)
        let baselineText = try String(contentsOfFile: baseline, encoding: .utf8)
        XCTAssertTrue(baselineText.contains("\"critical_indexes/recordings/missing_index/{uuid: 1}\""), baselineText)
        XCTAssertTrue(baselineText.contains("\"value_rules/recordings/rule_violated/channels.min >= 1\""), baselineText)

        // Known findings (a missing high index, rule violations) do not fail the gate; without it they do.
        XCTAssertEqual(try audit([]).status, 1)
        for _ in 0..<2 {
            let known = try audit(["--baseline", baseline, "--history", history])
            XCTAssertEqual(known.status, 0, known.stdout + known.stderr)
            XCTAssertTrue(known.stdout.contains("0 new, "), known.stdout)
            XCTAssertTrue(known.stdout.contains("Gate: PASSED"), known.stdout)
        }

        try degrade()
        let after = try audit(["--baseline", baseline, "--history", history, "--format", "json", "--output", path("after.json")])
        XCTAssertEqual(after.status, 1, after.stderr)
        let report = try json(after.stdout)
        let gate = try XCTUnwrap(report["gate"] as? [String: Any])
        let statuses = Dictionary(
            uniqueKeysWithValues: (gate["findings"] as? [[String: Any]] ?? []).map { ($0["id"] as! String, $0["status"] as! String) })
        XCTAssertEqual(statuses["critical_indexes/recordings/missing_index/{start_time: 1}"], "new", "\(statuses)")
        XCTAssertEqual(statuses["field_completeness/recordings/incomplete_field/sample_rate"], "worse", "\(statuses)")
        XCTAssertEqual(statuses["value_rules/recordings/rule_violated/channels.min >= 1"], "worse", "an absolute tolerance of 2: \(statuses)")
        let regression = "regressions/recordings/regression/field_completeness/recordings/completeness:sample_rate.share"
        XCTAssertEqual(statuses[regression], "new", "\(statuses)")
        let fixed = (gate["fixed"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertEqual(fixed, ["critical_indexes/recordings/missing_index/{uuid: 1}"])
        XCTAssertEqual(gate["outcome"] as? String, "failed")
        // The report with its gate section and the regressions check still follows the v2 schema.
        let schema = repositoryRoot.appendingPathComponent("docs/report-schema.json").path
        let validate = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')"
        let validation = try runProcess("/usr/bin/env", ["python3", "-c", validate, path("after.json"), schema])
        XCTAssertEqual(validation.status, 0, validation.stderr)

        // The regression finding carries both figures.
        let checks = report["checks"] as? [[String: Any]] ?? []
        let regressions = try XCTUnwrap(checks.first { $0["check"] as? String == "regressions" })
        let finding = try XCTUnwrap((regressions["findings"] as? [[String: Any]])?.first { $0["id"] as? String == regression })
        let metrics = try XCTUnwrap(finding["metrics"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(metrics["median"] as? Double), 1980.0 / 2000, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(metrics["current"] as? Double), 1980.0 / 2300, accuracy: 1e-9)
        XCTAssertEqual(regressions["specLine"] as? Int, 19)

        // The text report lists the fixed ones and says how to prune.
        let text = try audit(["--baseline", baseline])
        XCTAssertTrue(text.stdout.contains("✓ FIXED critical_indexes/recordings/missing_index/{uuid: 1}"), text.stdout)
        XCTAssertTrue(text.stdout.contains("mongo-audit baseline --prune --output \(baseline)"), text.stdout)

        // Pruning only removes.
        let pruned = try run(["baseline", "--prune", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec, "--output", baseline])
        XCTAssertEqual(pruned.status, 0, pruned.stderr)
        XCTAssertTrue(pruned.stdout.contains("pruned 1 fixed finding(s)"), pruned.stdout)
        let prunedText = try String(contentsOfFile: baseline, encoding: .utf8)
        XCTAssertFalse(prunedText.contains("{uuid: 1}"))
        XCTAssertFalse(prunedText.contains("{start_time: 1}"), "prune never adds the new finding")
        XCTAssertTrue(prunedText.contains("incomplete_field/sample_rate"))

        // The history has one record per audit with --history, and trend shows it.
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4, "three records and the final newline")
        let trend = try run(["trend", "--history", history, "--metric", "field_completeness/recordings/completeness:*.share"])
        XCTAssertEqual(trend.status, 0, trend.stderr)
        XCTAssertTrue(trend.stdout.contains("field_completeness/recordings/completeness:sample_rate.share"), trend.stdout)
        XCTAssertTrue(trend.stdout.contains("██▁"), "sparkline of 0.995, 0.995, 0.865: \(trend.stdout)")
        let trendJSON = try json(try run(["trend", "--history", history, "--format", "json", "--metric", "audit:*"]).stdout)
        XCTAssertEqual((trendJSON["runs"] as? [Any])?.count, 3)
        XCTAssertEqual((trendJSON["metrics"] as? [[String: Any]])?.map { $0["key"] as? String }, ["audit:durationSeconds"])

        // A baseline for another database says so.
        let other = try run(["audit", "--uri", try TestServer.uri(), "--database", databaseName + "_other", "--spec", spec, "--baseline", baseline])
        XCTAssertTrue(other.stdout.contains("the baseline was written for database \"\(databaseName)\""), other.stdout)
    }

    func testDiffOfTwoReports() throws {
        let before = path("before.json"), after = path("after.json")
        _ = try audit(["--format", "json", "--output", before])
        try degrade()
        _ = try audit(["--format", "json", "--output", after])
        let diff = try run(["diff", before, after])
        XCTAssertEqual(diff.status, 1, "a new high finding: " + diff.stdout + diff.stderr)
        XCTAssertTrue(diff.stdout.contains("NEW\n  [high] critical_indexes/recordings/missing_index/{start_time: 1}"), diff.stdout)
        XCTAssertTrue(diff.stdout.contains("FIXED\n  [high] critical_indexes/recordings/missing_index/{uuid: 1}"), diff.stdout)
        XCTAssertTrue(diff.stdout.contains("[medium] field_completeness/recordings/incomplete_field/sample_rate: missing 20 → 320"), diff.stdout)
        XCTAssertTrue(diff.stdout.contains("field_completeness/recordings:documentsScanned: 2000 → 2300"), diff.stdout)
        let reverse = try json(try run(["diff", after, before, "--format", "json"]).stdout)
        XCTAssertEqual(
            (reverse["better"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.contains("field_completeness/recordings/incomplete_field/sample_rate"),
            true)
        let notAReport = try run(["diff", spec, after])
        XCTAssertEqual(notAReport.status, 2)
    }

    func testHistoryFileSurvivesConcurrentAudits() throws {
        let history = path("history.jsonl")
        let uri = try TestServer.uri(), binary = try mongoAuditBinary(), database = databaseName, spec = spec
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let result = try? runProcess(
                binary, ["audit", "--uri", uri, "--database", database, "--spec", spec, "--history", history, "--fail-on", "critical"])
            results.add(result?.status ?? -1)
        }
        XCTAssertEqual(results.statuses.sorted(), [0, 0, 0, 0])
        let text = try String(contentsOfFile: history, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 4, text)
        for line in lines {
            let record = try json(String(line))
            XCTAssertEqual(record["database"] as? String, databaseName)
            XCTAssertNotNil((record["metrics"] as? [String: Any])?["critical_indexes/recordings:indexesExisting"])
        }

        // An audit that fails half-way (the server unreachable) records nothing.
        let unreachable = try run([
            "audit", "--uri", "mongodb://127.0.0.1:9", "--server-selection-timeout-ms", "200", "--database", databaseName, "--spec", spec,
            "--history", history,
        ])
        XCTAssertEqual(unreachable.status, 3)
        XCTAssertEqual(try String(contentsOfFile: history, encoding: .utf8), text)
    }

    func testALongHistoryIsReadFromItsEndAndTornLinesAreSkipped() throws {
        let history = path("history.jsonl")
        XCTAssertEqual(try audit(["--history", history, "--fail-on", "critical"]).status, 0)
        let line = try String(contentsOfFile: history, encoding: .utf8).trimmingCharacters(in: .newlines)
        // 300 runs (a few MB), every third of another database, and a torn line in the middle.
        var text = ""
        for run in 0..<300 {
            let date = String(format: "2025-01-01T00:%02d:%02d.000Z", run / 60, run % 60)
            var record = line.replacing(#/"startedAt":"[^"]*"/#, with: "\"startedAt\":\"\(date)\"")
            if run % 3 == 0 { record = record.replacingOccurrences(of: "\"database\":\"\(databaseName)\"", with: "\"database\":\"other\"") }
            text += record + "\n"
            if run == 150 { text += "{\"schema\":\"mongo-audit/history\",\"torn\n" }
        }
        try text.write(toFile: history, atomically: true, encoding: .utf8)
        let last = try json(
            try run(["trend", "--history", history, "--database", databaseName, "--last", "40", "--format", "json", "--metric", "audit:*"]).stdout)
        let runs = try XCTUnwrap(last["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 40)
        XCTAssertEqual(runs.last?["startedAt"] as? String, "2025-01-01T00:04:59Z")
        XCTAssertTrue(runs.allSatisfy { $0["database"] as? String == databaseName })
        let all = try json(try run(["trend", "--history", history, "--database", databaseName, "--last", "1000", "--format", "json"]).stdout)
        XCTAssertEqual((all["runs"] as? [Any])?.count, 200, "the torn line is skipped")
        // Appending after all that keeps every line whole.
        XCTAssertEqual(try audit(["--history", history, "--fail-on", "critical"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").count, 302)
    }

    func testHistoryInAMongoDBCollection() throws {
        let uri = try TestServer.uri()
        let base = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        let sameDatabase = try audit(["--history", "\(trimmed)/\(databaseName)", "--fail-on", "critical"])
        XCTAssertEqual(sameDatabase.status, 2, sameDatabase.stderr)
        XCTAssertTrue(sameDatabase.stderr.contains("the audited database"), sameDatabase.stderr)

        let target = "\(trimmed)/\(databaseName)_history.runs"
        for _ in 0..<2 { XCTAssertEqual(try audit(["--history", target, "--fail-on", "critical"]).status, 0) }
        let stored = try client.database(databaseName + "_history").collection("runs").countDocuments()
        XCTAssertEqual(stored, 2)
        let trend = try run(["trend", "--history", target, "--database", databaseName, "--metric", "critical_indexes/*"])
        XCTAssertEqual(trend.status, 0, trend.stderr)
        XCTAssertTrue(trend.stdout.contains("2 audit(s)"), trend.stdout)
        XCTAssertTrue(trend.stdout.contains("critical_indexes/recordings:indexesExisting"), trend.stdout)
    }

    func testHTMLReportRendersInChromiumAndEscapesDatabaseText() throws {
        let history = path("history.jsonl"), baseline = path("baseline.json")
        _ = try run(["baseline", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec, "--output", baseline])
        for _ in 0..<3 { _ = try audit(["--history", history, "--baseline", baseline]) }
        try degrade()
        // An _id that is markup: it shows up in the examples of the rule's finding, escaped.
        try client.database(databaseName).collection("recordings").insertOne(
            ["_id": .string("<img src=x onerror=alert(1)>"), "channels": .document(["min": .int32(-1)])])
        let html = path("report.html")
        let result = try audit(["--history", history, "--baseline", baseline, "--format", "html", "--output", html])
        XCTAssertEqual(result.status, 1, result.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertFalse(page.lowercased().contains("<script"), "no script")
        XCTAssertFalse(page.contains("<img"), "database text is escaped")
        XCTAssertTrue(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertFalse(page.contains("http://") || page.contains("https://") || page.contains("url("), "nothing from the network")
        for expected in ["<svg", "class=\"threshold\"", "point regression", ">new<", ">worse<", ">fixed<", "Fixed since the baseline", "Why:", "Fix:"] {
            XCTAssertTrue(page.contains(expected), "missing \(expected)")
        }

        let artefacts = repositoryRoot.appendingPathComponent(".build/artefacts")
        let shot = artefacts.appendingPathComponent("gate-report.png").path
        try? FileManager.default.removeItem(atPath: shot)
        let render = try runProcess(repositoryRoot.appendingPathComponent("scripts/render-html").path, [html, shot])
        XCTAssertEqual(render.status, 0, render.stderr)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertGreaterThan(png.count, 20_000, "a page with content, not a blank one")
        let keptHTML = artefacts.appendingPathComponent("gate-report.html").path
        try? FileManager.default.removeItem(atPath: keptHTML)
        try FileManager.default.copyItem(atPath: html, toPath: keptHTML)
        print("HTML report screenshot: \(shot)")
    }

    func testSARIFValidatesAndGitHubAnnotatesTheSpec() throws {
        let baseline = path("baseline.json")
        _ = try run(["baseline", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec, "--output", baseline])
        try degrade()
        let sarifPath = path("report.sarif")
        let result = try audit(["--baseline", baseline, "--format", "sarif", "--output", sarifPath])
        XCTAssertEqual(result.status, 1, result.stderr)
        let schema = repositoryRoot.appendingPathComponent("docs/sarif-schema-2.1.0.json").path
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')"
        let validation = try runProcess("/usr/bin/env", ["python3", "-c", script, sarifPath, schema])
        XCTAssertEqual(validation.status, 0, validation.stderr)
        XCTAssertEqual(validation.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "valid")

        let sarif = try json(try String(contentsOfFile: sarifPath, encoding: .utf8))
        XCTAssertEqual(sarif["version"] as? String, "2.1.0")
        let run = try XCTUnwrap((sarif["runs"] as? [[String: Any]])?.first)
        let rules = (((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]]) ?? []
        XCTAssertTrue(
            rules.contains {
                $0["id"] as? String == "critical_indexes"
                    && (($0["fullDescription"] as? [String: Any])?["text"] as? String)?.contains("Each required index exists") == true
            })
        let results = run["results"] as? [[String: Any]] ?? []
        let missing = try XCTUnwrap(
            results.first {
                ($0["partialFingerprints"] as? [String: Any])?["mongoAuditFindingId/v1"] as? String
                    == "critical_indexes/recordings/missing_index/{start_time: 1}"
            })
        XCTAssertEqual(missing["level"] as? String, "error")
        XCTAssertEqual(missing["baselineState"] as? String, "new")
        let location = ((missing["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        XCTAssertEqual((location?["artifactLocation"] as? [String: Any])?["uri"] as? String, "file://" + spec)
        XCTAssertEqual((location?["region"] as? [String: Any])?["startLine"] as? Int, 3, "the critical_indexes entry's line")
        XCTAssertTrue(results.contains { $0["baselineState"] as? String == "absent" }, "the fixed finding")

        let summary = path("step-summary.md")
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_STEP_SUMMARY"] = summary
        let github = try audit(["--baseline", baseline, "--format", "github"], environment: environment)
        XCTAssertEqual(github.status, 1)
        XCTAssertTrue(
            github.stdout.contains("::error file=\(spec),line=3,title=[high] critical_indexes (new)::recordings: required index {start_time: 1} is missing%0A"),
            github.stdout)
        XCTAssertTrue(github.stdout.contains("::warning file=\(spec),line=8,title=[medium] field_completeness (worse)::"), github.stdout)
        let markdown = try String(contentsOfFile: summary, encoding: .utf8)
        XCTAssertTrue(markdown.contains("### Baseline"), markdown)
        XCTAssertTrue(markdown.contains("mongo-audit: `\(databaseName)`"), markdown)
    }
}

/// Exit statuses collected from concurrent runs.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var statuses: [Int32] = []
    func add(_ status: Int32) {
        lock.lock()
        statuses.append(status)
        lock.unlock()
    }
}
