import CoreMetrics
import Prometheus

/// The process's Prometheus registry behind swift-metrics, and its text exposition.
///
/// `understudy server` and `understudy witness` call `bootstrap()` once, first thing, so that
/// every Counter, Gauge, Timer and Recorder the process makes lands in one registry; the
/// exposition (format 0.0.4) is what `METRICS` answers and what `GET /metrics` serves.
public struct MetricsExposition: Sendable {
    private let registry: PrometheusCollectorRegistry

    /// Bootstraps `MetricsSystem` with a Prometheus factory over a new registry.
    /// MUST be called at most once per process (swift-metrics allows one bootstrap).
    public static func bootstrap() -> MetricsExposition {
        let exposition = MetricsExposition()
        MetricsSystem.bootstrap(exposition.makeFactory())
        return exposition
    }

    /// A registry of its own, not bootstrapped (tests render what they record through `makeFactory()`).
    init() {
        registry = PrometheusCollectorRegistry()
    }

    /// The exposition text, as UTF-8 bytes. Safe from any thread.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The factory over this registry, with buckets sized for what each histogram measures
    /// (swift-prometheus's default buckets start at 5 ms: too coarse for commands and fsyncs).
    func makeFactory() -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "understudy_command_duration_seconds": Self.microsecondsToSeconds,
            "understudy_wal_fsync_duration_seconds": Self.microsecondsToSeconds,
            "understudy_failover_phase_duration_seconds": [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
                .seconds(5), .seconds(10),
            ],
            "understudy_snapshot_duration_seconds": [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
                .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
            ],
        ]
        factory.valueHistogramBuckets = [
            "understudy_wal_group_commit_records": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
        ]
        return factory
    }

    /// 10 µs to 2.5 s: a cached GET, a local fdatasync and a stalled disk all fall inside.
    private static let microsecondsToSeconds: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500),
    ]
}
