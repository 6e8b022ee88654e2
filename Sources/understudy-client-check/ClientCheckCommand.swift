import ArgumentParser
import Logging
import UnderstudyClient
import UnderstudyCore

/// Runs many concurrent callers through ONE `UnderstudyClient` against a live pair, while a
/// test injects faults, and prints what the callers saw as one JSON line on stdout (logs go
/// to stderr). Exits 2 if a final read found no answer before its deadline.
struct ClientCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understudy-client-check",
        abstract: "Drive UnderstudyClient with concurrent callers and report every outcome as one JSON line.",
        discussion: """
            increments: caller i sends INCR counter-<i % counters> until --seconds or \
            --max-increments; then reads each counter. Prints per counter ok / indeterminate / \
            failed / value, the failures' codes and the attempts the client sent.
            outage-budget: each caller starts one GET per --period-milliseconds; prints the calls \
            asked for and the attempts the client sent.
            set-throughput: each caller sends SET as fast as answers come (benchmarks/client_overhead.sh).
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case increments
        case outageBudget = "outage-budget"
        case setThroughput = "set-throughput"
    }

    @Option(help: "The data nodes, HOST:PORT,HOST:PORT.")
    var seeds: String

    @Option(help: "increments, outage-budget or set-throughput.")
    var mode: Mode = .increments

    @Option(help: "How many counters the callers share.")
    var counters = 8

    @Option(help: "How many concurrent callers.")
    var callers = 32

    @Option(help: "Time bound: no call starts after this many seconds.")
    var seconds: Double = 10

    @Option(help: "Count bound: at most this many calls in all (INCRs, or GETs in outage-budget).")
    var maxIncrements = 1_000_000

    @Option(help: "increments: how long the final reads may retry, in seconds.")
    var finalReadSeconds: Double = 20

    @Option(help: "outage-budget: each caller starts one GET per this many milliseconds.")
    var periodMilliseconds: Int64 = 10

    @Option(help: "Log level of the client's logs on stderr (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    var seedList: [String] {
        seeds.split(separator: ",").map { String($0) }
    }

    func validate() throws {
        guard !seedList.isEmpty, seedList.allSatisfy({ NetworkAddress(parsing: $0) != nil }) else {
            throw ValidationError("--seeds must be HOST:PORT,HOST:PORT")
        }
        guard counters > 0, callers > 0, maxIncrements > 0, periodMilliseconds > 0 else {
            throw ValidationError("--counters, --callers, --max-increments and --period-milliseconds must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        guard seconds > 0, finalReadSeconds > 0 else {
            throw ValidationError("--seconds and --final-read-seconds must be positive")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "understudy.client-check")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let client = try UnderstudyClient(seeds: seedList, logger: logger)
        let bounds = LoadBounds(seconds: seconds, maxCalls: maxIncrements)
        let report: JSONValue
        var complete = true
        switch mode {
        case .increments:
            (report, complete) = await IncrementCheck(
                client: client, counterCount: counters, callerCount: callers, bounds: bounds,
                finalReadSeconds: finalReadSeconds, logger: logger
            ).run()
        case .outageBudget:
            report = await OutageBudgetCheck(
                client: client, callerCount: callers, bounds: bounds, periodMilliseconds: periodMilliseconds
            ).run()
        case .setThroughput:
            report = await SetThroughputCheck(client: client, callerCount: callers, bounds: bounds).run()
        }
        await client.shutdown()
        print(report.rendered)
        if !complete { throw ExitCode(2) }
    }
}
