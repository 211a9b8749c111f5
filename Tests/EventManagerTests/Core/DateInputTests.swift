import Testing

@testable import EventManagerCore

@Suite(.resources) struct DateInputTests {
    @Test func calendarDayIsMidnightInTheEventZone() {
        let day = DateInput.parse("2023-10-27")
        #expect(day == .day(year: 2023, month: 10, day: 27))
        #expect(day?.resolve(in: .utc).rfc3339 == "2023-10-27T00:00:00Z")
        let jerusalem = EventTimeZone(identifier: "Asia/Jerusalem")!
        // Israel is on summer time (UTC+3) until the last Sunday of October 2023.
        #expect(day?.resolve(in: jerusalem).rfc3339 == "2023-10-26T21:00:00Z")
        #expect(DateInput.parse("2023-12-01")?.resolve(in: jerusalem).rfc3339 == "2023-11-30T22:00:00Z")
    }

    @Test(arguments: [
        ("2023-10-27T18:30:00Z", "2023-10-27T18:30:00Z"),
        ("2023-10-27t18:30:00z", "2023-10-27T18:30:00Z"),
        ("2023-10-27T18:30:00+02:00", "2023-10-27T16:30:00Z"),
        ("2023-10-27T01:30:00-05:30", "2023-10-27T07:00:00Z"),
        ("2023-10-27T18:30:00.5Z", "2023-10-27T18:30:00.500Z"),
        ("2023-10-27T18:30:00.123456Z", "2023-10-27T18:30:00.123Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
    ])
    func parsesRFC3339Instants(input: String, expected: String) {
        guard case .instant(let instant)? = DateInput.parse(input) else {
            Issue.record("\(input) did not parse as an instant")
            return
        }
        #expect(instant.rfc3339 == expected)
    }

    @Test(arguments: [
        "", "2023", "2023-13-01", "2023-02-29", "2023-04-31", "2023-10-27T18:30:00", "2023-10-27T24:00:00Z",
        "2023-10-27T18:61:00Z", "2023-10-27T18:30:00+0200", "2023-10-27 ", "Fri, 27 Oct 2023 00:00:00 GMT",
        "0000-01-01", "2023-10-27T18:30:00.Z", "2023-10-27T18:30:00Zjunk", "２０２３-10-27",
    ])
    func rejectsAnythingElse(input: String) {
        #expect(DateInput.parse(input) == nil)
    }

    /// An offset may not carry a time out of the years 0001 to 9999 in UTC; the schema says so
    /// by the date and the sign alone, and so does the parser (the fuzzer sent
    /// "0001-01-01T00:03:22.0+03:22", which is in the year 0000 in UTC).
    @Test func offsetsStayWithinTheYearsOnTheWire() {
        #expect(DateInput.parse("0001-01-01T00:03:22.0+03:22") == nil)
        #expect(DateInput.parse("0001-01-01T05:00:00+03:00") == nil, "the sign decides, as in the schema")
        #expect(DateInput.parse("9999-12-31T10:00:00-05:00") == nil)
        #expect(
            DateInput.parse("0001-01-01T00:00:00-05:00")
                == .instant(Timestamp(millisecondsSinceEpoch: Timestamp.minimum.millisecondsSinceEpoch + 5 * 3_600_000)))
        #expect(DateInput.parse("0001-01-01T00:00:00Z") == .instant(Timestamp.minimum))
        #expect(DateInput.parse("9999-12-31T23:59:59.999+01:00") != nil)
        #expect(DateInput.parse("9999-12-31T23:59:59.999Z") == .instant(Timestamp.maximum))
    }

    /// Foundation counts days before 15 October 1582 in the Julian calendar; ours are proleptic
    /// Gregorian, so an early day must come back as the same day (the fuzzer found "0000-12-30").
    @Test(arguments: ["0001-01-01", "1000-02-28", "1582-10-04", "1582-10-15", "1583-01-01", "2030-10-27"])
    func earlyDaysRoundTripInEveryZone(day: String) throws {
        guard case .day(let year, let month, let dayOfMonth)? = DateInput.parse(day) else {
            Issue.record("\(day) did not parse")
            return
        }
        for name in ["Asia/Tokyo", "America/Los_Angeles", "Europe/Paris", "Pacific/Kiritimati", "UTC"] {
            let zone = try #require(EventTimeZone(identifier: name))
            let midnight = zone.startOfDay(year: year, month: month, day: dayOfMonth)
            #expect(CivilTime(midnight, in: zone).isoDate == day, "\(day) in \(name)")
            #expect(CivilTime(midnight, in: zone).hour == 0, "\(day) in \(name)")
        }
    }

    @Test func formatsAcrossTheSupportedRange() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.minimum.rfc3339 == "0001-01-01T00:00:00Z")
        #expect(Timestamp.maximum.rfc3339 == "9999-12-31T23:59:59.999Z")
    }

    @Test func knowsIANAZonesOnly() {
        #expect(EventTimeZone(identifier: "Europe/Paris") != nil)
        #expect(EventTimeZone(identifier: "UTC") != nil)
        #expect(EventTimeZone(identifier: "Mars/Olympus_Mons") == nil)
        #expect(EventTimeZone(identifier: "") == nil)
    }

    /// Current IANA names, links and `Etc/` zones are valid, though Foundation's own list lacks them.
    @Test(arguments: ["Asia/Kolkata", "Etc/UTC", "Etc/GMT+5", "US/Pacific", "Asia/Calcutta", "Europe/Kyiv"])
    func everyNameOfTheZoneDatabaseIsAccepted(name: String) throws {
        let zone = try #require(EventTimeZone(identifier: name))
        #expect(zone.identifier == name)
    }

    @Test(arguments: ["GMT+5", "+05:00", "utc", "asia/kolkata", "posix/Europe/Paris", "zone.tab", "Factory"])
    func namesOutsideTheDatabaseAreRefused(name: String) {
        #expect(EventTimeZone(identifier: name) == nil)
    }

    @Test func calendarDayOfAnInstantFollowsTheZone() {
        let paris = EventTimeZone(identifier: "Europe/Paris")!
        guard case .instant(let instant)? = DateInput.parse("2023-10-26T23:30:00Z") else { return }
        #expect(CivilTime(instant, in: paris).isoDate == "2023-10-27")
        #expect(CivilTime(instant, in: .utc).isoDate == "2023-10-26")
    }
}
