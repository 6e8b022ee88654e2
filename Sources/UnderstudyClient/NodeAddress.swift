public import UnderstudyCore

/// Where a data node listens: a seed, a node named in a redirect, or a standby named by
/// `ROLE` (the core's one `HOST:PORT` parser).
public typealias NodeAddress = NetworkAddress
