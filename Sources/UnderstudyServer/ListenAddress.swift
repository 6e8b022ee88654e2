public import UnderstudyCore

/// A `HOST:PORT` (or `[IPv6]:PORT`) address as given on the command line.
public typealias ListenAddress = NetworkAddress
