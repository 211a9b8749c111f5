/// Which column a listing is ordered by.
public enum EventSortField: String, Sendable, CaseIterable {
    case creationTime = "creation_time"
    case date
    case popularity
}

/// An ordering of events: a field and a direction, ties always broken by id in the same direction.
public struct EventSort: Sendable, Equatable {
    public var field: EventSortField
    public var descending: Bool

    public init(field: EventSortField, descending: Bool) {
        self.field = field
        self.descending = descending
    }

    public static let creationOrder = EventSort(field: .creationTime, descending: false)

    /// The `sort` parameter form: `date`, `-date`, ...
    public var parameterValue: String { (descending ? "-" : "") + field.rawValue }

    public static let parameterValues: [String] = EventSortField.allCases.flatMap { [$0.rawValue, "-" + $0.rawValue] }

    public init?(parameterValue: String) {
        let descending = parameterValue.hasPrefix("-")
        guard let field = EventSortField(rawValue: descending ? String(parameterValue.dropFirst()) : parameterValue) else { return nil }
        self.init(field: field, descending: descending)
    }

    /// The value of the sort column for `event`, as stored.
    public func key(of event: Event) -> Int64 {
        switch field {
        case .creationTime: event.id
        case .date: event.startsAt.millisecondsSinceEpoch
        case .popularity: event.popularity
        }
    }
}

/// Conditions an event must meet to be listed; all that are set apply.
public struct EventFilter: Sendable, Equatable {
    public var id: Int64?
    public var title: String?
    public var location: String?
    /// Case-insensitive substring of title or location.
    public var text: String?
    public var startsFrom: Timestamp?
    public var startsUntil: Timestamp?
    public var popularity: Int64?
    public var minPopularity: Int64?
    public var maxPopularity: Int64?

    public init() {}

    /// The id when it is the only condition (the seed's `GET /events?id=N`): such a listing is
    /// one lookup by key, which a cache of single events can answer.
    public var onlyID: Int64? {
        var rest = self
        rest.id = nil
        return rest == EventFilter() ? id : nil
    }
}

/// Position after the last event of a page, for keyset pagination.
///
/// Holds the ordering it was made for, the sort column's value and the id of the last event
/// returned. A cursor is refused with another ordering: its key would be a value of another
/// column, and the page it led to would be wrong.
public struct EventCursor: Sendable, Equatable {
    public var sort: EventSort
    public var key: Int64
    public var id: Int64

    public init(sort: EventSort, key: Int64, id: Int64) {
        self.sort = sort
        self.key = key
        self.id = id
    }

    /// `SORT~KEY.ID` (`-date~1700000000000.42`); clients treat it as opaque.
    public var encoded: String { "\(sort.parameterValue)~\(key).\(id)" }

    public init?(encoded: String) {
        let halves = encoded.split(separator: "~", omittingEmptySubsequences: false)
        guard halves.count == 2, let sort = EventSort(parameterValue: String(halves[0])) else { return nil }
        let parts = halves[1].split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 19 }), let key = Int64(parts[0]),
            let id = Int64(parts[1]), id >= 0
        else { return nil }
        self.init(sort: sort, key: key, id: id)
    }
}

/// One page request of events: filter, order, size and position.
public struct EventListQuery: Sendable, Equatable {
    public var filter = EventFilter()
    public var sort = EventSort.creationOrder
    public var limit = EventListQuery.defaultLimit
    public var after: EventCursor?

    public static let defaultLimit = 100
    public static let maxLimit = 1000

    public init() {}

    static let filterParameters = [
        "id", "title", "location", "q", "start_date", "end_date", "popularity", "min_popularity", "max_popularity",
    ]
    static let pagingParameters = ["limit", "cursor"]

    /// Parses query parameters of a listing.
    ///
    /// - Parameters:
    ///   - parameters: the query's name-value pairs, in order.
    ///   - fixedSort: the ordering imposed by the route (`/sort_by/...`); `sort` is then not accepted.
    public static func parse(_ parameters: [(String, String)], fixedSort: EventSort? = nil) throws(AppError) -> EventListQuery {
        var query = EventListQuery()
        var seen = Set<String>()
        let allowed = filterParameters + pagingParameters + (fixedSort == nil ? ["sort"] : [])
        var cursorText: String?
        for (name, value) in parameters {
            guard allowed.contains(name) else {
                throw AppError(
                    .badRequest, code: "unknown_parameter",
                    message: "unknown query parameter '\(name.prefix(64))'; allowed: \(allowed.joined(separator: ", "))",
                    details: .validValues(allowed)
                )
            }
            guard seen.insert(name).inserted else {
                throw AppError(.badRequest, code: "duplicate_parameter", message: "query parameter '\(name)' given more than once")
            }
            switch name {
            case _ where value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }):
                throw AppError.badParameter(name, value.debugDescription, expected: "text without control characters")
            case "id": query.filter.id = try integer(name, value, min: 1)
            case "title": query.filter.title = value
            case "location": query.filter.location = value
            case "q":
                guard !value.isEmpty, value.count <= 200 else {
                    throw AppError.badParameter(name, value, expected: "1 to 200 characters")
                }
                query.filter.text = value
            case "start_date": query.filter.startsFrom = try boundary(name, value, endOfDay: false)
            case "end_date": query.filter.startsUntil = try boundary(name, value, endOfDay: true)
            case "popularity": query.filter.popularity = try integer(name, value, min: 0)
            case "min_popularity": query.filter.minPopularity = try integer(name, value, min: 0)
            case "max_popularity": query.filter.maxPopularity = try integer(name, value, min: 0)
            case "limit": query.limit = Int(try integer(name, value, min: 1, max: Int64(maxLimit)))
            case "sort":
                guard let sort = EventSort(parameterValue: value) else {
                    throw AppError(
                        .badRequest, code: "invalid_parameter",
                        message:
                            "query parameter 'sort' has invalid value '\(value.prefix(64))': expected one of \(EventSort.parameterValues.joined(separator: ", "))",
                        details: .validValues(EventSort.parameterValues)
                    )
                }
                query.sort = sort
            case "cursor": cursorText = value
            default: break
            }
        }
        if let fixedSort { query.sort = fixedSort }
        if let cursorText {
            guard let cursor = EventCursor(encoded: cursorText) else {
                throw AppError.badParameter("cursor", cursorText, expected: "a cursor taken from a Link header of this API")
            }
            guard cursor.sort == query.sort else {
                throw AppError.badParameter(
                    "cursor", cursorText,
                    expected:
                        "a cursor made for this ordering (it was made for sort=\(cursor.sort.parameterValue), not \(query.sort.parameterValue))"
                )
            }
            query.after = cursor
        }
        return query
    }

    private static func integer(_ name: String, _ value: String, min: Int64, max: Int64 = Int64.max) throws(AppError) -> Int64 {
        guard let number = Int64(value), number >= min, number <= max else {
            let range = max == Int64.max ? "an integer >= \(min)" : "an integer from \(min) to \(max)"
            throw AppError.badParameter(name, value, expected: range)
        }
        return number
    }

    /// A date bound: a day means its first (start) or last (end) millisecond in UTC.
    private static func boundary(_ name: String, _ value: String, endOfDay: Bool) throws(AppError) -> Timestamp {
        switch DateInput.parse(value) {
        case .instant(let instant)?:
            return instant
        case .day?:
            let start = DateInput.parse(value)!.resolve(in: .utc)
            return endOfDay ? start.adding(milliseconds: 86_399_999) : start
        case nil:
            throw AppError.badParameter(name, value, expected: "YYYY-MM-DD or an RFC 3339 date-time")
        }
    }
}
