import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// `--output` writes only the report, only where asked, without replacing what is not a regular file, and
/// a path it cannot write is refused before the audit reads anything.
final class ReportOutputTests: XCTestCase {
    var databaseName = ""
    var directory: URL!
    let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path

    override func setUpWithError() throws {
        databaseName = TestServer.uniqueDatabaseName("output")
        try SampleDatabase(recordingCount: 300).create(in: try TestServer.client().database(databaseName))
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("output-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
        try TestServer.client().database(databaseName).drop()
    }

    func audit(output: String, format: String = "json") throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(
            try mongoAuditBinary(),
            ["audit", "--uri", try TestServer.uri(), "--spec", spec, "--database", databaseName, "--format", format, "--output", output])
    }

    func testASymlinkStaysASymlinkAndItsTargetGetsTheReport() throws {
        let target = directory.appendingPathComponent("target.json")
        try "old".write(to: target, atomically: true, encoding: .utf8)
        let link = directory.appendingPathComponent("link.json")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let result = try audit(output: link.path)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), target.path)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), result.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["link.json", "target.json"], "no temporary file left")
    }

    func testTheSpecAndUnwritablePathsAreRefusedBeforeTheAudit() throws {
        let before = try String(contentsOfFile: spec, encoding: .utf8)
        let overSpec = try audit(output: spec)
        XCTAssertEqual(overSpec.status, 2)
        XCTAssertTrue(overSpec.stderr.contains("which this command reads; refusing to overwrite it"), overSpec.stderr)
        XCTAssertEqual(overSpec.stdout, "", "refused before the audit")
        XCTAssertEqual(try String(contentsOfFile: spec, encoding: .utf8), before)

        let missing = try audit(output: directory.appendingPathComponent("no/such/dir/r.json").path)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("cannot write the report to"), missing.stderr)
        XCTAssertFalse(missing.stderr.contains("NSCocoaErrorDomain"), missing.stderr)
        XCTAssertEqual(missing.stdout, "")

        let intoDirectory = try audit(output: directory.path)
        XCTAssertEqual(intoDirectory.status, 2)
        XCTAssertTrue(intoDirectory.stderr.contains("is a directory"), intoDirectory.stderr)
    }

    /// A device is written through, never replaced; a write that fails after the audit keeps its exit code.
    func testADeviceIsWrittenThroughAndAFailedWriteKeepsTheAuditsExitCode() throws {
        let full = try audit(output: "/dev/full")
        XCTAssertEqual(full.status, 1, "the audit's own code (findings) survives the failed write")
        XCTAssertTrue(full.stderr.contains("cannot write the report to /dev/full: No space left on device"), full.stderr)
        var info = stat()
        XCTAssertEqual(stat("/dev/full", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/full is still a device")
    }

    func testAFIFOIsWrittenThroughAsAStream() throws {
        let fifo = directory.appendingPathComponent("report.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let received = directory.appendingPathComponent("received.xml").path
        // A reader on the FIFO, as a CI step that pipes the report elsewhere.
        let reader = Thread {
            _ = try? runProcess("/bin/sh", ["-c", "cat '\(fifo)' > '\(received)'"])
        }
        reader.start()
        let result = try audit(output: fifo, format: "junit")
        XCTAssertEqual(result.status, 1, result.stderr)
        let deadline = Date().addingTimeInterval(10)
        while (try? String(contentsOfFile: received, encoding: .utf8))?.hasSuffix("</testsuites>\n") != true && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(try String(contentsOfFile: received, encoding: .utf8), result.stdout)
        var info = stat()
        XCTAssertEqual(stat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
    }
}
