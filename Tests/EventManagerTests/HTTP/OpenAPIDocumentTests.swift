import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import EventManager
@testable import EventManagerCore
@testable import EventManagerHTTP
@testable import EventManagerMetrics
@testable import EventManagerStorage

@Suite(.resources) struct OpenAPIDocumentTests {
    /// `METHOD /path` for every operation in the served document.
    func documentedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in item.keys where ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let database = try await TemporaryDatabase.make()
        let store = try await database.open()
        let dependencies = APIDependencies(
            events: FailingRepository(), subscriptions: FailingRepository(), accounts: SQLAccountStore(store: store),
            deliveries: SQLDeliveryLedger(store: store), changes: SQLEventRepository(store: store),
            webhooks: SQLWebhookStore(store: store), calendars: SQLCalendarStore(store: store), limiters: RateLimiters(settings: .disabled),
            clock: ManualClock())
        let routes = apiRoutes(dependencies, settings: RouterSettings(metrics: AppMetrics()))
        let document = try #require(JSONSerialization.jsonObject(with: Data(try OpenAPIDocument.json().utf8)) as? [String: Any])
        let documented = try documentedOperations(document)
        #expect(routes.documentedForm.subtracting(documented).sorted() == [], "routes missing from the document")
        #expect(documented.subtracting(routes.documentedForm).sorted() == [], "documented operations with no route")
        #expect(document["openapi"] as? String == "3.1.0")
    }

    @Test func documentIsServed() async throws {
        try await withTestApp { client, _ in
            let response = try await client.send(.get, "/openapi.json")
            #expect(response.status == .ok)
            #expect(try response.object()["openapi"] as? String == "3.1.0")
        }
    }
}
