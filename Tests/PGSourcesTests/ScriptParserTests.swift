import Foundation
import Testing
import PGEngine
import PGSources

// MARK: - Helpers

private let fileName = "t.pgs"

private func parse(_ text: String) throws(ScriptError) -> Script {
    try ScriptParser.parse(text, file: fileName)
}

private func calls(_ script: Script) -> [Call] {
    script.statements.compactMap { statement in
        if case .call(let call) = statement.command { return call }
        return nil
    }
}

private struct NotACall: Error {}

/// Parses `text` expecting exactly one call, and returns it.
private func onlyCall(_ text: String) throws -> Call {
    let script = try parse(text)
    try #require(script.statements.count == 1)
    guard case .call(let call) = script.statements[0].command else { throw NotACall() }
    return call
}

/// Asserts that parsing `text` fails at exactly `line`:`column` with a message containing `fragment`.
private func expectError(_ text: String, line: Int, column: Int, _ fragment: String,
                         sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        let script = try ScriptParser.parse(text, file: fileName)
        Issue.record("expected an error containing \"\(fragment)\", got \(script.statements.count) statements",
                     sourceLocation: sourceLocation)
    } catch {
        #expect(error.location.file == fileName, sourceLocation: sourceLocation)
        #expect(error.location.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location.column == column, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    }
}

/// The conformance fixtures (`Tests/Fixtures/conformance`).
private let conformanceDirectory: URL = SharedFiles.conformance

private func conformanceText(_ name: String) throws -> String {
    try String(contentsOfFile: conformanceDirectory.appendingPathComponent(name).path, encoding: .utf8)
}

// MARK: - Conformance workloads

/// Call statements in each conformance workload (dump and stale are not calls).
private let conformanceCallCounts: [String: Int] = [
    "w1_single4k.txt": 3,
    "w2_512x4k_deferred.txt": 513,
    "w2_512x4k_eager.txt": 512,
    "w3_block2m_deferred.txt": 3,
    "w3_block2m_eager.txt": 2,
    "w4_512_then_unmap512_eager.txt": 514,
    "w5_512_then_512unmaps.txt": 1024,
    "w6_edge_cases.txt": 7,
    "w7_granule_16k.txt": 6,
    "w7_granule_4k.txt": 6,
    "w7_granule_64k.txt": 6,
    "w8_deferred_scenarios.txt": 1042,
]

@Test func everyConformanceWorkloadIsKnown() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: conformanceDirectory.path)
        .filter { $0.hasPrefix("w") && $0.hasSuffix(".txt") }
    #expect(!names.isEmpty)
    for name in names {
        #expect(conformanceCallCounts[name] != nil, "new conformance workload \(name): add its call count")
    }
}

@Test(arguments: conformanceCallCounts.keys.sorted())
func conformanceWorkloadParses(_ name: String) throws {
    let text = try conformanceText(name)
    let script = try ScriptParser.parse(text, file: name)
    #expect(calls(script).count == conformanceCallCounts[name])
    #expect(script.configLocation == nil)
    // Every statement points at its own line, in order.
    let lines = script.statements.map(\.location.line)
    #expect(lines == lines.sorted())
    #expect(script.statements.allSatisfy { $0.location.file == name && $0.location.column == 1 })
}

@Test func conformanceEdgeCasesHaveExactValues() throws {
    let script = try ScriptParser.parse(try conformanceText("w6_edge_cases.txt"), file: "w6")
    #expect(calls(script) == [
        .mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 2, prot: [.read, .write]),
        .unmapPages(iova: 0, pgsize: 0x20_0000, pgcount: 1),
        .mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read, .write]),
        .mapPages(iova: 0, paddr: 0x9000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read, .write]),
        .unmapPages(iova: 0x20_0000, pgsize: 0x1000, pgcount: 1),
        .unmapPages(iova: 0, pgsize: 0x20_0000, pgcount: 1),
        .mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x20_0000, pgcount: 1, prot: [.read]),
    ])
}

// MARK: - Statements

@Test func mapHasExactValues() throws {
    let script = try parse("map 0x200000 0x100200000 2M 1 rwcx")
    #expect(script.statements == [
        ScriptStatement(
            command: .call(.mapPages(iova: 0x20_0000, paddr: 0x1_0020_0000, pgsize: 0x20_0000, pgcount: 1,
                                     prot: [.read, .write, .cache, .noExec])),
            location: PGSources.SourceLocation(file: fileName, line: 1, column: 1)),
    ])
}

@Test func unmapHasExactValues() throws {
    #expect(try onlyCall("unmap 0x40000000 4K 512") == .unmapPages(iova: 0x4000_0000, pgsize: 0x1000, pgcount: 512))
}

@Test func iovaToPhysHasExactValues() throws {
    #expect(try onlyCall("iova_to_phys 0x123") == Call(kind: .iovaToPhys, iova: 0x123))
}

@Test func syncMapHasExactValues() throws {
    #expect(try onlyCall("sync_map 0x1ff000 0x2000") == Call(kind: .iotlbSyncMap, iova: 0x1f_f000, size: 0x2000))
}

@Test func iommuMapHasExactValues() throws {
    #expect(try onlyCall("iommu_map 0x10000 0x80010000 64K rwm")
        == Call(kind: .iommuMap, iova: 0x1_0000, paddr: 0x8001_0000, size: 0x1_0000, prot: [.read, .write, .mmio]))
}

@Test func mapSGHasExactValues() throws {
    #expect(try onlyCall("map_sg 0x100000 rwp 0x80000000+4K 0x90000000+0x2000 4096+8K")
        == Call(kind: .iommuMapSG, iova: 0x10_0000, prot: [.read, .write, .priv], segments: [
            Segment(paddr: 0x8000_0000, length: 0x1000),
            Segment(paddr: 0x9000_0000, length: 0x2000),
            Segment(paddr: 0x1000, length: 0x2000),
        ]))
    #expect(try onlyCall("map_sg 0 r 0+1").segments == [Segment(paddr: 0, length: 1)])
}

@Test func iommuUnmapHasExactValues() throws {
    #expect(try onlyCall("iommu_unmap 0x200000 2M") == Call(kind: .iommuUnmap, iova: 0x20_0000, size: 0x20_0000))
}

@Test func tlbSyncHasExactValues() throws {
    #expect(try onlyCall("tlb_sync") == Call(kind: .iotlbSync))
}

@Test func accessModes() throws {
    #expect(try onlyCall("access 0x1000 r") == Call(kind: .access, iova: 0x1000, prot: .read))
    #expect(try onlyCall("access 0x1000 w") == Call(kind: .access, iova: 0x1000, prot: .write))
    #expect(try onlyCall("access 0x1000 rp") == Call(kind: .access, iova: 0x1000, prot: [.read, .priv]))
    #expect(try onlyCall("access 0x1000 wp") == Call(kind: .access, iova: 0x1000, prot: [.write, .priv]))
}

@Test func snapshotDumpStale() throws {
    let script = try parse("snapshot before-map_1.v2:x\ndump\n\nstale # the end\n")
    #expect(script.statements.map(\.command) == [.snapshot("before-map_1.v2:x"), .dump, .stale])
    #expect(script.statements.map(\.location.line) == [1, 2, 4])
}

@Test func everyProtLetter() throws {
    #expect(try onlyCall("iommu_map 0 0 4K rwcxmp").prot == [.read, .write, .cache, .noExec, .mmio, .priv])
    #expect(try onlyCall("iommu_map 0 0 4K x").prot == .noExec)
}

// MARK: - Layout: comments, blank lines, whitespace, line ends

@Test func commentsBlankLinesAndWhitespace() throws {
    let text = """
    # a comment line

    \tmap\t0x0   0x80000000 4K 1 rw   # trailing comment
       # indented comment
    unmap 0x0 4K 1#glued comment
    \t
    """
    let script = try parse(text)
    #expect(calls(script) == [
        .mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read, .write]),
        .unmapPages(iova: 0, pgsize: 0x1000, pgcount: 1),
    ])
    #expect(script.statements.map(\.location) == [
        PGSources.SourceLocation(file: fileName, line: 3, column: 2),
        PGSources.SourceLocation(file: fileName, line: 5, column: 1),
    ])
}

@Test func emptyAndCommentOnlyScripts() throws {
    #expect(try parse("") == Script())
    #expect(try parse("\n\n# nothing\n   \n") == Script())
}

@Test func crlfLineEndsAreAccepted() throws {
    let script = try parse("config stage=2\r\nmap 0 0x1000 4K 1 rw\r\n# c\r\nunmap 0 4K 1\r\ndump\r\n")
    #expect(script.config.stage == .two)
    #expect(calls(script) == [
        .mapPages(iova: 0, paddr: 0x1000, pgsize: 0x1000, pgcount: 1, prot: [.read, .write]),
        .unmapPages(iova: 0, pgsize: 0x1000, pgcount: 1),
    ])
    #expect(script.statements.last?.command == .dump)
    // Columns of a CRLF line do not count the stripped CR.
    expectError("dump\r\nmap 0 0 4K\r\n", line: 2, column: 11, "map: missing PGCOUNT")
}

@Test func lineOfExactlyTheLimitIsAccepted() throws {
    let comment = "#" + String(repeating: "c", count: 4095)
    #expect(try parse(comment + "\ndump") == Script(statements: [
        ScriptStatement(command: .dump, location: PGSources.SourceLocation(file: fileName, line: 2, column: 1)),
    ]))
    // 3000 two-byte characters: 6000 bytes but only 3000 characters.
    #expect(try parse("# " + String(repeating: "é", count: 3000)) == Script())
}

// MARK: - Numbers

@Test func numberForms() throws {
    let cases: [(String, UInt64)] = [
        ("0", 0), ("4096", 4096), ("010", 10), ("0x0", 0), ("0X1F", 0x1f), ("0xAbCdEf", 0xab_cdef),
        ("4K", 0x1000), ("4k", 0x1000), ("2M", 0x20_0000), ("2m", 0x20_0000), ("1G", 0x4000_0000),
        ("1g", 0x4000_0000), ("4T", 4 << 40), ("4t", 4 << 40), ("0x10K", 0x4000), ("0x2m", 0x20_0000),
        ("18446744073709551615", UInt64.max), ("0xffffffffffffffff", UInt64.max),
        ("16777215T", 16_777_215 << 40), ("0xfg", 15 << 30), ("0x3fffffffffffffK", 0x3f_ffff_ffff_ffff << 10),
    ]
    for (text, value) in cases {
        #expect(try onlyCall("iova_to_phys \(text)").iova == value, "\(text)")
    }
}

@Test func nonNumericNumberIsRejected() {
    expectError("map 0 0 abc 1 rw", line: 1, column: 9, "expected a number for PGSIZE, found \"abc\"")
    expectError("map 0 0 4K 1 rw\nunmap 0x 4K 1", line: 2, column: 7, "expected a number for IOVA, found \"0x\"")
    expectError("unmap 0 4Q 1", line: 1, column: 9, "expected a number for PGSIZE")
    expectError("unmap 0 K 1", line: 1, column: 9, "expected a number for PGSIZE")
    expectError("unmap 0 4KK 1", line: 1, column: 9, "expected a number for PGSIZE")
    expectError("unmap 0 0xfz 1", line: 1, column: 9, "expected a number for PGSIZE")
    expectError("unmap 0 4K +1", line: 1, column: 12, "expected a number for PGCOUNT")
    expectError("unmap 0 4K 1.5", line: 1, column: 12, "expected a number for PGCOUNT")
}

@Test func negativeNumberIsRejected() {
    expectError("iova_to_phys -1", line: 1, column: 14, "negative")
    expectError("map 0 -0x1000 4K 1 rw", line: 1, column: 7, "expected a number for PADDR, found \"-0x1000\"")
}

@Test func overflowingNumberIsRejected() {
    expectError("iova_to_phys 0x1ffffffffffffffffff", line: 1, column: 14,
                "number 0x1ffffffffffffffffff overflows 64 bits")
    expectError("sync_map 0 18446744073709551616", line: 1, column: 12, "overflows 64 bits")
    expectError("sync_map 0 0x10000000000000000", line: 1, column: 12, "overflows 64 bits")
}

@Test func suffixOverflowIsRejected() {
    expectError("sync_map 0 16777216T", line: 1, column: 12, "number 16777216T overflows 64 bits")
    expectError("sync_map 0 0x40000000000000K", line: 1, column: 12, "overflows 64 bits")
    expectError("map 0 0 4K 0xffffffffffffffffG rw", line: 1, column: 12, "overflows 64 bits")
}

// MARK: - Config

@Test func configIsParsed() throws {
    let text = """
    # header comment
    config stage=2 granule=16k ias=40 oas=0x2c coherent=yes line=128 strategy=deferred_fixed nowarn=true ns=0
    map 0 0 16K 1 rw
    """
    let script = try parse(text)
    var expected = ScriptConfig()
    expected.stage = .two
    expected.granule = .size16K
    expected.ias = 40
    expected.oas = 44
    expected.coherent = true
    expected.lineSize = 128
    expected.strategy = .deferredFixed
    expected.noWarn = true
    expected.nonSecure = false
    #expect(script.config == expected)
    #expect(script.configLocation == PGSources.SourceLocation(file: fileName, line: 2, column: 1))
    #expect(calls(script).count == 1)
}

@Test func configBooleansAndOtherSpellings() throws {
    let script = try parse("config coherent=NO nowarn=1 ns=False granule=64K strategy=Batched-SG stage=1")
    #expect(script.config.coherent == false)
    #expect(script.config.noWarn == true)
    #expect(script.config.nonSecure == false)
    #expect(script.config.granule == .size64K)
    #expect(script.config.strategy == .batchedSG)
    #expect(script.config.stage == .one)
    #expect(script.statements.isEmpty)
}

@Test func configOverridesOnlyWhatItSets() throws {
    let script = try parse("config granule=64k coherent=yes")
    let base = PageTableConfig(stage: .two, granule: .size4K, ias: 40, oas: 44, coherentWalk: false,
                               lineSize: 32, noWarn: true, nonSecure: false)
    let applied = script.config.applied(to: base)
    #expect(applied == PageTableConfig(stage: .two, granule: .size64K, ias: 40, oas: 44, coherentWalk: true,
                                       lineSize: 32, noWarn: true, nonSecure: false))
    // No config line: the base is untouched.
    #expect(try parse("dump").config.applied(to: base) == base)
    #expect(try parse("dump").configLocation == nil)
}

@Test func badConfigKeyIsRejected() {
    expectError("config stage=1 colour=blue", line: 1, column: 16, "unknown config key \"colour\"")
    expectError("config stage=1 colour=blue", line: 1, column: 16, "expected one of: stage, granule")
}

@Test func malformedConfigPairIsRejected() {
    expectError("config stage", line: 1, column: 8, "malformed config setting \"stage\"")
    expectError("config ias=48 =4k", line: 1, column: 15, "malformed config setting")
    expectError("config ias=48 ias=40", line: 1, column: 15, "duplicate config key \"ias\"")
}

@Test(arguments: [
    ("config stage=3", 8, "bad value \"3\" for stage"),
    ("config stage=1 granule=8k", 16, "bad value \"8k\" for granule"),
    ("config ias=abc", 8, "bad value \"abc\" for ias"),
    ("config oas=", 8, "bad value \"\" for oas"),
    ("config line=-64", 8, "bad value \"-64\" for line"),
    ("config coherent=maybe", 8, "bad value \"maybe\" for coherent"),
    ("config strategy=lazy", 8, "bad value \"lazy\" for strategy"),
    ("config nowarn=2", 8, "bad value \"2\" for nowarn"),
    ("config  ns=on", 9, "bad value \"on\" for ns"),
    ("config ias=0xffffffffffffffff", 8, "bad value"),
    ("config stage=2 profile=6.13", 16, "bad value \"6.13\" for profile (expected mainline or 6.12)"),
])
func badConfigValueIsRejected(_ example: (text: String, column: Int, fragment: String)) {
    expectError(example.text, line: 1, column: example.column, example.fragment)
}

@Test func duplicateConfigIsRejected() {
    expectError("config stage=1\n# again\nconfig stage=2", line: 3, column: 1, "duplicate config (first at t.pgs:1)")
}

@Test func configAfterFirstCallIsRejected() {
    expectError("map 0 0 4K 1 rw\n  config stage=1", line: 2, column: 3, "config must come before the first call")
    expectError("dump\nconfig stage=1", line: 2, column: 1, "config must come before the first call")
}

// MARK: - Errors

@Test func unknownKeywordIsRejected() {
    expectError("map 0 0 4K 1 rw\nmapp 0", line: 2, column: 1, "unknown keyword \"mapp\"")
    expectError("  MAP 0 0 4K 1 rw", line: 1, column: 3, "(expected one of: map, unmap, ")
}

@Test func missingArgumentIsRejected() {
    expectError("map 0x0 0x1000 4K", line: 1, column: 18,
                "map: missing PGCOUNT (usage: map IOVA PADDR PGSIZE PGCOUNT PROT)")
    expectError("map 0x0 0x1000 4K   # comment", line: 1, column: 18, "map: missing PGCOUNT")
    expectError("unmap", line: 1, column: 6, "unmap: missing IOVA (usage: unmap IOVA PGSIZE PGCOUNT)")
    expectError("iommu_map 0 0 4K", line: 1, column: 17, "iommu_map: missing PROT")
    expectError("access 0", line: 1, column: 9, "access: missing MODE")
    expectError("sync_map\t0", line: 1, column: 11, "sync_map: missing SIZE")
}

@Test func extraArgumentIsRejected() {
    expectError("map 0 0 4K 1 rw x", line: 1, column: 17, "map: unexpected argument \"x\"")
    expectError("tlb_sync now", line: 1, column: 10, "tlb_sync: unexpected argument \"now\"")
    expectError("dump all", line: 1, column: 6, "dump: unexpected argument \"all\"")
    expectError("stale 1", line: 1, column: 7, "stale: unexpected argument \"1\"")
    expectError("iova_to_phys 0 0", line: 1, column: 16, "iova_to_phys: unexpected argument \"0\"")
}

@Test func unknownProtLetterIsRejected() {
    expectError("map 0 0 4K 1 rwq", line: 1, column: 16, "unknown PROT letter 'q' (expected letters from rwcxmp)")
    expectError("map\t0\t0\t4K\t1\tR", line: 1, column: 14, "unknown PROT letter 'R'")
    expectError("map_sg 0 z 0+4K", line: 1, column: 10, "unknown PROT letter 'z'")
}

@Test func nulByteIsRejected() {
    expectError("map 0 0 4K 1 rw\nmap 0\u{0}1", line: 2, column: 6, "line contains a NUL byte")
    expectError("dump # \u{0}", line: 1, column: 8, "line contains a NUL byte")
}

@Test func longLineIsRejected() {
    let long = "map " + String(repeating: "1", count: 4996)
    expectError("dump\n" + long + "\ndump", line: 2, column: 4097, "line is 5000 characters long (limit 4096)")
    expectError("#" + String(repeating: "x", count: 4096), line: 1, column: 4097, "line is 4097 characters long")
    // Counted in characters, not bytes.
    expectError(String(repeating: "é", count: 4100), line: 1, column: 4097, "line is 4100 characters long")
}

@Test func tenMegabyteLineIsRejectedCheaply() {
    let huge = "map " + String(repeating: "9", count: 10_000_000)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        expectError(huge, line: 1, column: 4097, "line is 10000004 characters long")
    }
    #expect(elapsed < .seconds(5))
}

@Test func invalidUTF8IsRejected() {
    let bytes: [UInt8] = Array("dump\nmap ".utf8) + [0xFF, 0xFE] + Array(" 0 4K 1 rw".utf8)
    let text = String(decoding: bytes, as: UTF8.self)
    expectError(text, line: 2, column: 5, "invalid UTF-8 in input")
    expectError("dump # bad \u{FFFD} here", line: 1, column: 12, "invalid UTF-8 in input")
}

@Test func badSnapshotNameIsRejected() {
    expectError("snapshot a/b", line: 1, column: 10, "bad snapshot name \"a/b\"")
    expectError("snapshot ça", line: 1, column: 10, "bad snapshot name")
    expectError("snapshot two words", line: 1, column: 14, "snapshot: unexpected argument \"words\"")
    expectError("snapshot # none", line: 1, column: 9, "snapshot: missing NAME")
}

@Test func badAccessModeIsRejected() {
    for mode in ["x", "rw", "pr", "R", "rpp", "p"] {
        expectError("access 0x1000 \(mode)", line: 1, column: 15, "bad access mode \"\(mode)\"")
    }
}

@Test func mapSGWithoutSegmentsIsRejected() {
    expectError("map_sg 0x0 rw", line: 1, column: 14,
                "map_sg: missing PADDR+LEN (usage: map_sg IOVA PROT PADDR+LEN [PADDR+LEN ...])")
}

@Test func malformedSegmentIsRejected() {
    expectError("map_sg 0 rw 0x1000", line: 1, column: 13, "malformed segment \"0x1000\"")
    expectError("map_sg 0 rw 0+4K 0x1000+", line: 1, column: 18, "malformed segment \"0x1000+\"")
    expectError("map_sg 0 rw +4K", line: 1, column: 13, "malformed segment")
    expectError("map_sg 0 rw 1+2+3", line: 1, column: 13, "malformed segment")
    expectError("map_sg 0 rw 0x1000+abc", line: 1, column: 20, "expected a number for LEN, found \"abc\"")
    expectError("map_sg 0 rw zz+4K", line: 1, column: 13, "expected a number for PADDR, found \"zz\"")
}

@Test func columnsCountCharactersNotBytes() {
    expectError("dump é x", line: 1, column: 6, "dump: unexpected argument \"é\"")
    expectError("tlb_sync ü\tx", line: 1, column: 10, "tlb_sync: unexpected argument \"ü\"")
    expectError("access 0 é", line: 1, column: 10, "bad access mode \"é\"")
    expectError("map 0 0 4K 1 rw ∂ # ∂∂", line: 1, column: 17, "map: unexpected argument \"∂\"")
}

@Test func parsingStopsAtTheFirstError() {
    expectError("dump\nbogus 1\nmapp 0\nmap 0", line: 2, column: 1, "unknown keyword \"bogus\"")
    expectError("map abc 0 4K 1 rw extra", line: 1, column: 5, "expected a number for IOVA")
}

@Test func errorDescriptionNamesFileLineAndColumn() {
    do {
        _ = try ScriptParser.parse("dump\nmap 0 0 4K 1 rwq", file: "w.pgs")
        Issue.record("expected an error")
    } catch {
        #expect(error.description == "w.pgs:2:16: unknown PROT letter 'q' (expected letters from rwcxmp)")
    }
}
