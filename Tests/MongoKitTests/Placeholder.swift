import XCTest
final class MongoKitTestsPlaceholder: XCTestCase { func testNothing() {} }
