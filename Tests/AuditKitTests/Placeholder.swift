import XCTest
final class AuditKitTestsPlaceholder: XCTestCase { func testNothing() {} }
