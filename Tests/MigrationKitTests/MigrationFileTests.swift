import XCTest

@testable import MigrationKit
