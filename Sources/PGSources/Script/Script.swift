import PGEngine

/// A place in an input file, for error messages (`file:line:column`).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    /// 1-based.
    public var line: Int
    /// 1-based, in characters; 0 when the whole line is meant.
    public var column: Int

    public init(file: String, line: Int, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)" }
}

/// The `config` line of a script. Every key is optional; command-line options override.
public struct ScriptConfig: Sendable, Hashable, Codable {
    public var stage: Stage?
    public var granule: Granule?
    public var ias: Int?
    public var oas: Int?
    public var coherent: Bool?
    public var lineSize: Int?
    public var strategy: Strategy?
    public var noWarn: Bool?
    public var nonSecure: Bool?
    /// `pgsizes=`: the driver's page-size bitmap (``PageTableConfig/pgsizeBitmap``).
    public var pgsizes: UInt64?
    /// `profile=`: which kernel the engine reproduces (``PageTableConfig/profile``).
    public var profile: KernelProfile?
    public init() {}

    /// Applies what this config sets on top of `base`.
    public func applied(to base: PageTableConfig) -> PageTableConfig {
        var c = base
        if let stage { c.stage = stage }
        if let granule { c.granule = granule }
        if let ias { c.ias = ias }
        if let oas { c.oas = oas }
        if let coherent { c.coherentWalk = coherent }
        if let lineSize { c.lineSize = lineSize }
        if let noWarn { c.noWarn = noWarn }
        if let nonSecure { c.nonSecure = nonSecure }
        if let pgsizes { c.pgsizeBitmap = pgsizes }
        if let profile { c.profile = profile }
        return c
    }
}

/// One line of a `.pgs` workload script.
public enum ScriptCommand: Sendable, Hashable {
    /// A modelled call (io-pgtable, IOMMU core, `tlb_sync`, `access`).
    case call(Call)
    /// `snapshot NAME`: names this point in a recorded history.
    case snapshot(String)
    /// `dump`: print the tables now.
    case dump
    /// `stale`: list entries whose memory view differs from the CPU view now.
    case stale
}

/// A command with where it came from.
public struct ScriptStatement: Sendable, Hashable {
    public var command: ScriptCommand
    public var location: SourceLocation
    public init(command: ScriptCommand, location: SourceLocation) {
        self.command = command
        self.location = location
    }
}

/// A parsed script: its optional config and its statements in order.
public struct Script: Sendable, Hashable {
    public var config: ScriptConfig
    /// Where the config line was, if any.
    public var configLocation: SourceLocation?
    /// Where each setting of the config line is (its `KEY=` in the line).
    public var configKeyLocations: [ConfigField: SourceLocation] = [:]
    public var statements: [ScriptStatement]
    public init(config: ScriptConfig = ScriptConfig(), configLocation: SourceLocation? = nil, statements: [ScriptStatement] = []) {
        self.config = config
        self.configLocation = configLocation
        self.statements = statements
    }
}

/// What is wrong with a script, and where.
public struct ScriptError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}
