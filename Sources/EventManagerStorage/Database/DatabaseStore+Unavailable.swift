import AsyncKit
import EventManagerCore
import NIOCore
import PostgresNIO
import SQLiteNIO

extension DatabaseStore {
    /// Runs `body`, turning a database that is busy, locked, down or out of connections into
    /// `AppError.databaseUnavailable` (a 503 with `Retry-After`): the client's request was fine
    /// and may simply be sent again. Every other error (a constraint, a bug) passes unchanged.
    func translatingUnavailability<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error where Self.isUnavailable(error) {
            logger.warning("database unavailable", metadata: ["error": .string(String(reflecting: error))])
            throw AppError.databaseUnavailable
        }
    }

    /// Whether `error` says the database cannot serve now, rather than that the request or the
    /// code is wrong.
    static func isUnavailable(_ error: any Error) -> Bool {
        switch error {
        case is AppError:
            return false
        case StorageError.closed:
            return true
        case let error as SQLiteFailure:
            return error.isUnavailable
        case let error as SQLiteError:
            return [.busy, .locked, .busyTimeout, .busyInRecovery, .busyInSnapshot, .lockedBySharedCache, .ioError].contains(error.reason)
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .sslUnsupported:
                return true
            case .server:
                // Connection exceptions, insufficient resources, operator intervention, lock timeouts.
                let state = error.serverInfo?[.sqlState] ?? ""
                return ["08", "53", "57"].contains(String(state.prefix(2))) || ["55P03", "40001", "40P01"].contains(state)
            default:
                return false
            }
        case is ConnectionPoolTimeoutError, is ConnectionPoolError, is ChannelError, is IOError, is NIOConnectionError:
            return true
        default:
            return false
        }
    }
}

extension AppError {
    /// The database is busy or unreachable; the same request may work in a moment.
    static var databaseUnavailable: AppError {
        var error = AppError(
            .unavailable, code: "database_unavailable", message: "the database is busy or unreachable; try again in a moment")
        error.retryAfterSeconds = 1
        return error
    }
}
