import ArgumentParser

/// Formats with a list of their names for help texts.
protocol ExpressibleByArgumentFormat: ExpressibleByArgument, CaseIterable, RawRepresentable where RawValue == String {}

extension ExpressibleByArgumentFormat {
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// `--db FILE`, shared by the commands that use a history file.
struct DatabaseOption: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("The history file (SQLite).", valueName: "FILE"))
    var path: String
}
