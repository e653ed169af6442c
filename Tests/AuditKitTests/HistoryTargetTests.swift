import XCTest

@testable import AuditKit

/// `--history` as a connection string: parsed by the one URI parser, never pointing at the server's own
/// collections, and quoted in its errors without its secrets.
final class HistoryTargetTests: XCTestCase {
    func testTheServersOwnCollectionsAreRefused() {
        for target in ["mongodb://u:Pw0rdq@h/admin.system.users", "mongodb://h/app.system.profile", "mongodb://h/local.runs", "mongodb://h/config"] {
            XCTAssertThrowsError(try HistoryTarget(target), target) { error in
                XCTAssertTrue("\(error)".contains("of the server's own"), "\(error)")
                XCTAssertFalse("\(error)".contains("Pw0rdq"), "\(error)")
            }
        }
        XCTAssertEqual(try HistoryTarget("mongodb://h/admin.audits"), .mongo(uri: "mongodb://h/admin", database: "admin", collection: "audits"))
    }

    func testAnInvalidConnectionStringIsAGateFileErrorWithoutItsSecrets() {
        for target in ["mongodb://u:Pw0rdq@h:99999/hist", "mongodb://u:Pw0rdq@x@h/hist", "mongodb+srv://u:Pw0rdq@h1,h2/hist"] {
            XCTAssertThrowsError(try HistoryTarget(target), target) { error in
                XCTAssertTrue(error is GateFileError, "\(error)")
                XCTAssertFalse("\(error)".contains("Pw0rdq"), "\(error)")
            }
        }
    }
}
