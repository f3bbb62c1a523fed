import ArgumentParser
import Foundation
import PGEngine
import PGSources
import PGKernel

/// `pgstore run`: a script through the engine, no database, everything printed.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a .pgs script through the engine and print what each call did, then the final tables.",
        discussion: """
        The text output follows the layout of the kernel conformance logs: each call with its \
        result and counts (cmo, lines, tlb_all, tlb_walk, tlb_page, warn, stale), the allocations, \
        cleans and TLB callbacks it caused, indented; then the final tables and totals. \
        Exit status 1 when descriptors are still stale at the end.
        """
    )

    @Argument(help: "The workload script (.pgs).")
    var script: String

    @Option(help: "Sync strategy: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")). Overrides the script's config.")
    var strategy: String?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(name: .customLong("kernel-errors"), help: "Skip pgstore's checks of alignment, page sizes and address ranges, and pass such calls to the engine to see what the kernel does with them.")
    var kernelErrors = false

    @OptionGroup var options: ConfigOptions

    @OptionGroup var kernel: KernelOptions

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func run() throws {
        let parsed = try ScriptFile.load(script)
        let setup = try ResolvedSetup(script: parsed, options: options, strategy: strategy)
        let geometry = setup.geometry
        if !kernelErrors {
            do {
                try ScriptValidator.validate(parsed, geometry: geometry)
            } catch {
                throw PgstoreError(error.description)
            }
        }
        if let tree = try kernel.tree(kernelProfile: options.kernelProfile) {
            return try runKernel(tree, script: parsed, setup: setup)
        }
        let run: TracedRun
        do {
            run = try TracedRun(config: setup.config, strategy: setup.strategy)
        } catch {
            // ResolvedSetup checked this configuration; should the engine still
            // refuse it, say so in the same words, at the same place.
            throw ResolvedSetup.refusal(error, script: parsed, options: options)
        }
        let stale: Int
        switch format {
        case .text: stale = try RunText.write(script: parsed, run: run)
        case .json: stale = try RunJSON.write(script: parsed, run: run)
        }
        if stale > 0 { throw ExitCode(1) }
    }

    /// The script's calls in the tree's own io-pgtable-arm.c; the same log as the engine's.
    func runKernel(_ tree: KernelTree, script parsed: Script, setup: ResolvedSetup) throws {
        if let strategy { throw PgstoreError("--strategy \(strategy): --kernel-source runs the tree's own code, which is its strategy") }
        let stale: Int
        do {
            var config = setup.config
            config.profile = tree.profile
            let run = try KernelTracedRun(tree: tree, config: config, deferSyncPTE: kernel.deferSyncPTE,
                                          environment: ProcessInfo.processInfo.environment)
            switch format {
            case .text:
                stale = try RunText.write(script: parsed, run: run, strategy: run.kernel.strategyName,
                                          deferSyncPTE: kernel.deferSyncPTE)
            case .json:
                stale = try RunJSON.write(script: parsed, run: run, strategy: run.kernel.strategyName)
            }
        } catch let error as KernelError {
            throw PgstoreError(error.description)
        }
        if stale > 0 { throw ExitCode(1) }
    }
}
