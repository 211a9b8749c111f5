import EventManagerCore
import Foundation

/// Names a worker in the leases it holds, so an operator can tell which process held a row.
enum WorkerIdentity {
    static func make() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(RandomToken.make(bytes: 4))"
    }
}
