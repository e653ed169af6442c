import Foundation
import MongoKit

/// Why a file could not be read back as a report, baseline or history record.
package struct GateFileError: Error, CustomStringConvertible, Equatable {
    package let file: String
    package let message: String

    package init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    package var description: String { "\(file): \(message)" }
}

/// Reads a JSON report of schema version 2 (`docs/report-schema.json`) back into an `AuditReport`, for
/// `mongo-audit diff`. Fails closed: another schema, another version or a missing field is an error naming
/// the file and the field.
package enum ReportDecoder {
    package static func decode(_ data: Data, file: String) throws -> AuditReport {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw GateFileError(file: file, "not JSON: \(error.localizedDescription)")
        }
        let r = Reader(file: file)
        let object = try r.object(root, "")
        guard object["schema"] as? String == AuditReport.schemaName else {
            throw GateFileError(file: file, "not a mongo-audit report (schema is not \"\(AuditReport.schemaName)\")")
        }
        let version = try r.int(object, "schemaVersion")
        guard version == AuditReport.schemaVersion else {
            throw GateFileError(file: file, "report schema version \(version); this mongo-audit reads version \(AuditReport.schemaVersion)")
        }
        let checks = try r.array(object, "checks").enumerated().map { try r.checkResult($0.element, "checks[\($0.offset)]") }
        let started = try r.string(object, "startedAt")
        var report = AuditReport(
            tool: try r.string(object, "tool"), database: try r.string(object, "database"), target: try r.string(object, "target"),
            serverVersion: try r.string(object, "serverVersion"), specFile: try r.string(object, "specFile"),
            specSHA256: try r.string(object, "specSHA256"), startedAt: parseTimestamp(started) ?? Date(timeIntervalSince1970: 0),
            durationSeconds: try r.double(object, "durationSeconds"), sampleSize: object["sampleSize"] as? Int,
            failOn: try r.severity(object, "failOn"), checks: checks)
        if let outcome = AuditOutcome(rawValue: try r.string(object, "outcome")) { report.outcome = outcome }
        return report
    }

    package static func decode(path: String) throws -> AuditReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw GateFileError(file: path, "cannot read the file") }
        return try decode(data, file: path)
    }

    /// Reads typed fields from JSONSerialization's output, naming the field in every error.
    struct Reader {
        let file: String

        func fail(_ path: String, _ message: String) -> GateFileError { GateFileError(file: file, "\(path.isEmpty ? "(top level)" : path): \(message)") }

        func object(_ value: Any?, _ path: String) throws -> [String: Any] {
            guard let object = value as? [String: Any] else { throw fail(path, "expected an object") }
            return object
        }
        func array(_ object: [String: Any], _ key: String) throws -> [Any] {
            guard let array = object[key] as? [Any] else { throw fail(key, "expected a list") }
            return array
        }
        func string(_ object: [String: Any], _ key: String) throws -> String {
            guard let text = object[key] as? String else { throw fail(key, "expected text") }
            return text
        }
        func optionalString(_ object: [String: Any], _ key: String) -> String? { object[key] as? String }
        func int(_ object: [String: Any], _ key: String) throws -> Int {
            guard let number = object[key] as? NSNumber, !isBool(number), let int = Int(exactly: number.doubleValue) else {
                throw fail(key, "expected a whole number")
            }
            return int
        }
        func double(_ object: [String: Any], _ key: String) throws -> Double {
            guard let number = object[key] as? NSNumber, !isBool(number) else { throw fail(key, "expected a number") }
            return number.doubleValue
        }
        func severity(_ object: [String: Any], _ key: String) throws -> Severity {
            guard let severity = Severity(rawValue: try string(object, key)) else { throw fail(key, "expected a severity") }
            return severity
        }

        func checkResult(_ value: Any, _ path: String) throws -> CheckResult {
            let object = try self.object(value, path)
            guard let status = CheckStatus(rawValue: try string(object, "status")) else { throw fail("\(path).status", "unknown status") }
            var result = CheckResult(
                check: try string(object, "check"), collection: optionalString(object, "collection"), severity: try severity(object, "severity"),
                status: status, reason: optionalString(object, "reason"), durationSeconds: (object["durationSeconds"] as? NSNumber)?.doubleValue ?? 0,
                findings: try array(object, "findings").enumerated().map { try finding($0.element, "\(path).findings[\($0.offset)]") },
                metrics: try metrics(object["metrics"], "\(path).metrics"), specLine: object["specLine"] as? Int)
            result.notRunCause = optionalString(object, "notRunCause").flatMap(NotRunCause.init(rawValue:))
            return result
        }

        func finding(_ value: Any, _ path: String) throws -> Finding {
            let object = try self.object(value, path)
            let facts = (object["facts"] as? [String: Any] ?? [:]).compactMap { key, value in (value as? String).map { (name: key, text: $0) } }
                .sorted { $0.name < $1.name }
            let examples = (object["examples"] as? [Any] ?? []).compactMap(bsonValue)
            var index: Document?
            if let entry = object["indexToCreate"] as? [String: Any], let text = jsonText(entry) { index = try? Document(json: text) }
            let finding = Finding(
                check: try string(object, "check"), collection: optionalString(object, "collection"), kind: try string(object, "kind"),
                subject: optionalString(object, "subject"), severity: try severity(object, "severity"), title: try string(object, "title"),
                impact: try string(object, "impact"), fix: optionalString(object, "fix"), metrics: try metrics(object["metrics"], "\(path).metrics"),
                examples: examples, facts: facts, indexToCreate: index)
            if let id = object["id"] as? String, id != finding.id {
                throw fail("\(path).id", "\"\(id)\" does not match its check, collection, kind and subject (\(finding.id))")
            }
            return finding
        }

        /// Metrics in the report's order is lost by JSONSerialization; names are sorted instead.
        func metrics(_ value: Any?, _ path: String) throws -> Metrics {
            guard let value else { return [:] }
            let object = try self.object(value, path)
            var metrics = Metrics()
            for name in object.keys.sorted() {
                let entry = object[name]!
                if let number = entry as? NSNumber, !isBool(number) {
                    let double = number.doubleValue
                    if let int = Int(exactly: double), !isValueName(name) { metrics[name] = .count(int) } else { metrics[name] = .value(double) }
                } else if let proportion = entry as? [String: Any] {
                    let count = try int(proportion, "count")
                    var p = Proportion(count: count, of: try int(proportion, "of"), exact: proportion["exact"] as? Bool ?? true)
                    p.share = (proportion["share"] as? NSNumber)?.doubleValue ?? p.share
                    p.total = proportion["total"] as? Int
                    p.estimate = proportion["estimate"] as? Int
                    p.low = (proportion["low"] as? NSNumber)?.doubleValue
                    p.high = (proportion["high"] as? NSNumber)?.doubleValue
                    metrics[name] = .proportion(p)
                } else {
                    throw fail("\(path).\(name)", "expected a number or a proportion")
                }
            }
            return metrics
        }

        func bsonValue(_ value: Any) -> BSONValue? {
            guard let text = jsonText(["v": value]), let document = try? Document(json: text) else { return nil }
            return document["v"]
        }

        func jsonText(_ value: Any) -> String? {
            guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else { return nil }
            return String(data: data, encoding: .utf8)
        }
    }
}

/// Whether a metric named so holds a measured value rather than a count (its unit is in its name).
func isValueName(_ name: String) -> Bool {
    name.hasSuffix("Ms") || name.hasSuffix("Seconds") || name.hasSuffix("Share") || name == "minComplete"
}

func isBool(_ number: NSNumber) -> Bool {
    #if canImport(Darwin)
        return CFGetTypeID(number) == CFBooleanGetTypeID()
    #else
        return String(cString: number.objCType) == "c"
    #endif
}

func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}
