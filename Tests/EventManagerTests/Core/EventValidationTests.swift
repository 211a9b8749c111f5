import Foundation
import Testing

@testable import EventManagerCore
@testable import EventManagerStorage

@Suite(.resources) struct EventValidationTests {
    func parse(_ json: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
    }

    func fieldErrors(_ result: Result<EventDraft, AppError>) -> [String: String] {
        guard case .failure(let error) = result, case .fields(let errors)? = error.details else { return [:] }
        return Dictionary(errors.map { ($0.field, $0.code) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func acceptsAMinimalEventWithDefaults() throws {
        let draft = try EventDraft.validate(parse(#"{"title":"  Swift Meetup ","location":"Haifa","date":"2030-01-02"}"#)).get()
        #expect(draft.title == "Swift Meetup")
        #expect(draft.timeZone == .utc)
        #expect(draft.popularity == 0)
        #expect(draft.startsAt.rfc3339 == "2030-01-02T00:00:00Z")
    }

    @Test func listsEveryFailingFieldAtOnce() throws {
        let errors = fieldErrors(
            EventDraft.validate(
                try parse(#"{"title":"","location":7,"date":"tomorrow","popularity":"abc","timezone":"Nowhere/City","color":"red"}"#))
        )
        #expect(
            errors == [
                "title": "blank", "location": "invalid_type", "date": "invalid_date", "popularity": "invalid_type",
                "timezone": "unknown_timezone", "color": "unknown_field",
            ])
    }

    @Test func requiresTitleLocationAndDate() throws {
        #expect(fieldErrors(EventDraft.validate(try parse("{}"))) == ["title": "required", "location": "required", "date": "required"])
    }

    @Test func enforcesTextRules() throws {
        let long = String(repeating: "é", count: 201)
        let exact = String(repeating: "é", count: 200)
        #expect(
            fieldErrors(EventDraft.validate(try parse(#"{"title":" \#(exact)","location":"b","date":"2030-01-01"}"#))) == [
                "title": "too_long"
            ])
        #expect(
            fieldErrors(EventDraft.validate(try parse(#"{"title":"\#(long)","location":"a\tb","date":"2030-01-01"}"#))) == [
                "title": "too_long", "location": "control_character",
            ])
        #expect(throws: Never.self) {
            try EventDraft.validate(try parse(#"{"title":"\#(exact)","location":"x","date":"2030-01-01"}"#)).get()
        }
    }

    @Test func popularityIsANonNegativeInteger() throws {
        #expect(
            fieldErrors(EventDraft.validate(try parse(#"{"title":"a","location":"b","date":"2030-01-01","popularity":-1}"#))) == [
                "popularity": "out_of_range"
            ])
        #expect(
            fieldErrors(EventDraft.validate(try parse(#"{"title":"a","location":"b","date":"2030-01-01","popularity":1.5}"#))) == [
                "popularity": "invalid_type"
            ])
        let draft = try EventDraft.validate(try parse(#"{"title":"a","location":"b","date":"2030-01-01","popularity":7.0}"#)).get()
        #expect(draft.popularity == 7)
    }

    @Test func readOnlyFieldsMustMatchTheStoredEvent() throws {
        let stored = Event(
            id: 5, title: "t", location: "l", startsAt: Timestamp(millisecondsSinceEpoch: 0), timeZone: .utc, isDateOnly: false,
            popularity: 0, createdAt: Timestamp(millisecondsSinceEpoch: 1000), updatedAt: Timestamp(millisecondsSinceEpoch: 2000)
        )
        let same = try parse(#"{"id":5,"created_at":"1970-01-01T00:00:01Z","title":"t","location":"l","date":"2030-01-01"}"#)
        #expect(throws: Never.self) { try EventDraft.validate(same, existing: stored).get() }
        let other = try parse(#"{"id":6,"updated_at":"2020-01-01T00:00:00Z","title":"t","location":"l","date":"2030-01-01"}"#)
        #expect(fieldErrors(EventDraft.validate(other, existing: stored)) == ["id": "read_only", "updated_at": "read_only"])
        #expect(fieldErrors(EventDraft.validate(same)) == ["id": "read_only", "created_at": "read_only"])
    }

    @Test func mergePatchResetsOptionalFieldsAndKeepsTheRest() throws {
        let stored = Event(
            id: 1, title: "Old", location: "Paris",
            startsAt: DateInput.parse("2030-05-01")!.resolve(in: EventTimeZone(identifier: "Europe/Paris")!),
            timeZone: EventTimeZone(identifier: "Europe/Paris")!, isDateOnly: true, popularity: 9, createdAt: .minimum, updatedAt: .minimum
        )
        let draft = try EventDraft.validatePatch(try parse(#"{"popularity":null,"timezone":"Asia/Tokyo"}"#), existing: stored).get()
        #expect(draft.title == "Old")
        #expect(draft.popularity == 0)
        // A calendar-day start stays midnight of the same day, now in Tokyo.
        #expect(draft.startsAt.rfc3339 == "2030-04-30T15:00:00Z")
        #expect(fieldErrors(EventDraft.validatePatch(try parse(#"{"title":null}"#), existing: stored)) == ["title": "required"])
    }

    @Test func subAddressesShareTheirMailbox() throws {
        #expect(try EmailAddress.parse("Dave+news@Example.com").get().mailbox == "dave@example.com")
        #expect(try EmailAddress.parse("dave@example.com").get().mailbox == "dave@example.com")
        #expect(try EmailAddress.parse("+x@example.com").get().mailbox == "+x@example.com")
    }
}
