import Testing
import PGEngine
import PGSources

// MARK: - Fixtures: the trace, trace_pipe and trace-cmd report layouts

private let fileName = "t.trace"

/// Real captured lines (ath12k thread, linux-wireless, Jul 2025).
private let realMap =
    "   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 paddr=0x000000010ec80000 size=524288"
private let realUnmap =
    "   kworker/u64:0-12      [011] .....   327.747766: unmap: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 size=524288 unmapped_size=524288"
private let realFault =
    "irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: IOMMU:ath12k_pci 0000:c2:00.0 iova=0x00000000fe980000 flags=0x0001"
/// VFIO/qemu-kvm capture with 7 flag characters.
private let qemuMap =
    "        qemu-kvm-4575    [008] .......   438.308529: map: IOMMU: iova=0x0000000000100000 - 0x0000000000200000 paddr=0x00000001a6900000 size=1048576"

/// The header block of `/sys/kernel/tracing/trace` (12 lines).
private let kernelHeader = """
    # tracer: nop
    #
    # entries-in-buffer/entries-written: 6/6   #P:12
    #
    #                                _-----=> irqs-off/BH-disabled
    #                               / _----=> need-resched
    #                              | / _---=> hardirq/softirq
    #                              || / _--=> preempt-depth
    #                              ||| / _-=> migrate-disable
    #                              |||| /     delay
    #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
    #              | |         |   |||||     |         |
    """

private let kernelLines = [
    "   kworker/u16:2-87      [003] .....  1234.567890: map: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000 size=4096",
    "             fio-2411    [005] .....  1234.568001: map: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 paddr=0x00000008a3400000 size=2097152",
    "             fio-2411    [005] .....  1234.568105: map: IOMMU: iova=0x00000000fffd0000 - 0x00000000fffe0000 paddr=0x00000008b0010000 size=65536",
    "   kworker/u16:2-87      [003] .....  1234.569000: unmap: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096",
    "          <idle>-0       [005] d.h1.  1234.569120: unmap: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 size=2097152 unmapped_size=2097152",
    "          <idle>-0       [005] d.h1.  1234.569300: unmap: IOMMU: iova=0x00000000fffd0000 - 0x00000000fffe0000 size=65536 unmapped_size=65536",
]

private let traceCmdLines = [
    "   kworker/u16:2-87    [003] .....  1234.567890: map:                  IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000 size=4096",
    "             fio-2411  [005] .....  1234.568001: map:                  IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 paddr=0x00000008a3400000 size=2097152",
    "             fio-2411  [005] .....  1234.568105: map:                  IOMMU: iova=0x00000000fffd0000 - 0x00000000fffe0000 paddr=0x00000008b0010000 size=65536",
    "   kworker/u16:2-87    [003] .....  1234.569000: unmap:                IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096",
    "          <idle>-0     [005] d.h1.  1234.569120: unmap:                IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 size=2097152 unmapped_size=2097152",
    "          <idle>-0     [005] d.h1.  1234.569300: unmap:                IOMMU: iova=0x00000000fffd0000 - 0x00000000fffe0000 size=65536 unmapped_size=65536",
]

/// The calls both 1.6 fixtures describe, in order.
private let syntheticCalls = [
    Call(kind: .iommuMap, iova: 0xffff_f000, paddr: 0x8_94a1_c000, size: 4096, prot: [.read, .write]),
    Call(kind: .iommuMap, iova: 0xffc0_0000, paddr: 0x8_a340_0000, size: 2_097_152, prot: [.read, .write]),
    Call(kind: .iommuMap, iova: 0xfffd_0000, paddr: 0x8_b001_0000, size: 65536, prot: [.read, .write]),
    Call(kind: .iommuUnmap, iova: 0xffff_f000, size: 4096),
    Call(kind: .iommuUnmap, iova: 0xffc0_0000, size: 2_097_152),
    Call(kind: .iommuUnmap, iova: 0xfffd_0000, size: 65536),
]

/// A kernel-layout map line with `text` after `map: IOMMU: `.
private func mapLine(_ text: String) -> String {
    "   kworker/u16:2-87      [003] .....  1234.567890: map: IOMMU: " + text
}

/// A kernel-layout unmap line with `text` after `unmap: IOMMU: `.
private func unmapLine(_ text: String) -> String {
    "   kworker/u16:2-87      [003] .....  1234.569000: unmap: IOMMU: " + text
}

// MARK: - Helpers

private func parse(_ text: String, lenient: Bool = false) throws(ScriptError) -> FtraceLog {
    try FtraceParser.parse(text, file: fileName, lenient: lenient)
}

/// 1-based column of the first occurrence of `needle` in `line` (all fixtures are ASCII).
private func column(of needle: String, in line: String, after anchor: String = "") -> Int {
    let hay = Array(line.utf8)
    let want = Array(needle.utf8)
    var from = 0
    if !anchor.isEmpty {
        from = column(of: anchor, in: line) - 1 + anchor.utf8.count
    }
    var i = from
    while i + want.count <= hay.count {
        if Array(hay[i..<(i + want.count)]) == want { return i + 1 }
        i += 1
    }
    return -1
}

/// Asserts that strict parsing of `text` fails at exactly `line`:`column` with a
/// message containing `fragment`, and that lenient parsing turns it into one warning.
private func expectError(_ text: String, line: Int, column: Int, _ fragment: String,
                         sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        let log = try parse(text)
        Issue.record("expected an error containing \"\(fragment)\", got \(log.events.count) events",
                     sourceLocation: sourceLocation)
    } catch {
        #expect(error.location.file == fileName, sourceLocation: sourceLocation)
        #expect(error.location.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location.column == column, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    }
    do {
        let log = try parse(text, lenient: true)
        #expect(log.warnings.count == 1, sourceLocation: sourceLocation)
        #expect(log.warnings.first?.location.line == line, sourceLocation: sourceLocation)
        #expect(log.warnings.first?.location.column == column, sourceLocation: sourceLocation)
    } catch {
        Issue.record("lenient parse threw \(error)", sourceLocation: sourceLocation)
    }
}

private func lineCount(_ text: String) -> Int {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    if text.hasSuffix("\n") { lines -= 1 }
    return text.isEmpty ? 0 : lines
}

/// Every line is an event, a skipped line or a warning.
private func expectAccounted(_ log: FtraceLog, _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(log.events.count + log.skippedLines + log.warnings.count == lineCount(text), sourceLocation: sourceLocation)
    #expect(log.otherEvents <= log.skippedLines, sourceLocation: sourceLocation)
}

// MARK: - Tests

@Suite struct FtraceParserTests {

    // MARK: Real and synthetic lines

    @Test func realCapturedLines() throws {
        let text = realMap + "\n" + realUnmap + "\n"
        let log = try parse(text)
        #expect(log.events == [
            FtraceEvent(call: Call(kind: .iommuMap, iova: 0xfe98_0000, paddr: 0x1_0ec8_0000, size: 524_288, prot: [.read, .write]),
                        line: 1, column: 63, timestamp: "4.878076"),
            FtraceEvent(call: Call(kind: .iommuUnmap, iova: 0xfe98_0000, size: 524_288),
                        line: 2, column: 65, timestamp: "327.747766"),
        ])
        #expect(log.skippedLines == 0)
        #expect(log.otherEvents == 0)
        #expect(log.warnings.isEmpty)
    }

    @Test func realPageFaultIsAnOtherEvent() throws {
        let text = [realMap, realUnmap, realFault].joined(separator: "\n")
        let log = try parse(text)
        #expect(log.events.count == 2)
        #expect(log.otherEvents == 1)
        #expect(log.skippedLines == 1)
        expectAccounted(log, text)
    }

    @Test func qemuSevenFlagLine() throws {
        let log = try parse(qemuMap)
        #expect(log.events.map(\.call) == [
            Call(kind: .iommuMap, iova: 0x10_0000, paddr: 0x1_a690_0000, size: 1_048_576, prot: [.read, .write]),
        ])
        #expect(log.events.first?.timestamp == "438.308529")
    }

    @Test func kernelLayoutWithHeaderBlock() throws {
        let text = kernelHeader + "\n" + kernelLines.joined(separator: "\n") + "\n"
        let log = try parse(text)
        #expect(log.events.map(\.call) == syntheticCalls)
        #expect(log.events.map(\.line) == Array(13...18))
        #expect(log.events.map(\.timestamp) == ["1234.567890", "1234.568001", "1234.568105",
                                                "1234.569000", "1234.569120", "1234.569300"])
        #expect(log.skippedLines == 12)
        #expect(log.otherEvents == 0)
        #expect(log.warnings.isEmpty)
        expectAccounted(log, text)
    }

    @Test func traceCmdLayoutWithCpusAndDroppedEvents() throws {
        var lines = ["version = 6", "cpus=12"] + traceCmdLines
        lines.insert("CPU:2 [17 EVENTS DROPPED]", at: 5)
        let text = lines.joined(separator: "\n") + "\n"
        let log = try parse(text)
        #expect(log.events.map(\.call) == syntheticCalls)
        #expect(log.events.map(\.line) == [3, 4, 5, 7, 8, 9])
        #expect(log.skippedLines == 3)
        #expect(log.otherEvents == 0)
        expectAccounted(log, text)
    }

    @Test func bothLayoutsGiveTheSameCalls() throws {
        let kernel = try parse(kernelLines.joined(separator: "\n"))
        let report = try parse(traceCmdLines.joined(separator: "\n"))
        #expect(kernel.events.map(\.call) == report.events.map(\.call))
        #expect(kernel.events.map(\.timestamp) == report.events.map(\.timestamp))
    }

    // MARK: Formats

    @Test func preV517Formats() throws {
        let lines = [
            mapLine("iova=0x0000000ffff36000 paddr=0x00000001164d8000 size=4096"),
            unmapLine("iova=0x0000000ffff36000 size=4096 unmapped_size=4096"),
            "             fio-2411  [005] ....  1234.568001: map:                  IOMMU: iova=0x00000000ffc00000 paddr=0x00000008a3400000 size=2097152",
            "             fio-2411  [005] ....  1234.569001: unmap:                IOMMU: iova=0x00000000ffc00000 size=2097152 unmapped_size=2097152",
        ]
        let log = try parse(lines.joined(separator: "\n"))
        #expect(log.events.map(\.call) == [
            Call(kind: .iommuMap, iova: 0xf_fff3_6000, paddr: 0x1_164d_8000, size: 4096, prot: [.read, .write]),
            Call(kind: .iommuUnmap, iova: 0xf_fff3_6000, size: 4096),
            Call(kind: .iommuMap, iova: 0xffc0_0000, paddr: 0x8_a340_0000, size: 2_097_152, prot: [.read, .write]),
            Call(kind: .iommuUnmap, iova: 0xffc0_0000, size: 2_097_152),
        ])
    }

    @Test func devFieldVariantIsIgnored() throws {
        let lines = [
            "   kworker/u16:2-87      [003] .....  1234.567890: map: IOMMU: dev=1d84000.ufshc iova=0x0000000ffff36000 paddr=0x00000001164d8000 size=4096",
            "   kworker/u16:2-87      [003] .....  1234.567990: unmap: IOMMU: dev=1d84000.ufshc iova=0x0000000ffff36000 - 0x0000000ffff37000 size=4096 unmapped_size=4096",
        ]
        let log = try parse(lines.joined(separator: "\n"))
        #expect(log.events.map(\.call) == [
            Call(kind: .iommuMap, iova: 0xf_fff3_6000, paddr: 0x1_164d_8000, size: 4096, prot: [.read, .write]),
            Call(kind: .iommuUnmap, iova: 0xf_fff3_6000, size: 4096),
        ])
    }

    @Test func unmapKeepsRequestedSizeWhenUnmappedDiffers() throws {
        let lines = [
            unmapLine("iova=0x0000000000100000 - 0x0000000000200000 size=1048576 unmapped_size=4096"),
            unmapLine("iova=0x0000000000100000 - 0x0000000000101000 size=4096 unmapped_size=2097152"),
        ]
        let log = try parse(lines.joined(separator: "\n"))
        #expect(log.events.map(\.call) == [
            Call(kind: .iommuUnmap, iova: 0x10_0000, size: 1_048_576),
            Call(kind: .iommuUnmap, iova: 0x10_0000, size: 4096),
        ])
    }

    @Test(arguments: [
        ("4 flags", "            bash-1234  [001] d..1  100.000001: map: IOMMU: "),
        ("5 flags", "            bash-1234    [001] d..1.  100.000001: map: IOMMU: "),
        ("7 flags", "            bash-1234    [001] .......  100.000001: map: IOMMU: "),
        ("no flags", "            bash-1234    [001]  100.000001: map: IOMMU: "),
        ("tgid", "            bash-1234    (   1234) [001] .....  100.000001: map: IOMMU: "),
        ("unknown tgid", "            bash-1234    (-------) [001] .....  100.000001: map: IOMMU: "),
        ("comm with spaces", "  Web Content-(1)-77      [002] .N...  100.000001: map: IOMMU: "),
        ("long pid", "kworker/u16:2-1234567 [002] .....  100.000001: map: IOMMU: "),
        ("tabs", "\tbash-1234\t[001]\t.....\t100.000001: map:\tIOMMU:\t"),
    ])
    func layoutVariants(_ name: String, _ prefix: String) throws {
        let log = try parse(prefix + "iova=0x0000000000001000 - 0x0000000000002000 paddr=0x0000000000005000 size=4096")
        #expect(log.events.map(\.call) == [
            Call(kind: .iommuMap, iova: 0x1000, paddr: 0x5000, size: 4096, prot: [.read, .write]),
        ], "\(name)")
        #expect(log.events.first?.timestamp == "100.000001", "\(name)")
    }

    @Test func rawCounterTimestamp() throws {
        let log = try parse("            bash-1234    [001] ..... 123456789012: unmap: IOMMU: iova=0x0000000000001000 size=4096 unmapped_size=4096")
        #expect(log.events.first?.timestamp == "123456789012")
        #expect(log.events.first?.call == Call(kind: .iommuUnmap, iova: 0x1000, size: 4096))
    }

    @Test func otherEventsAreCountedAndSkipped() throws {
        let lines = [
            realMap,
            realFault,
            "          <idle>-0       [005] d.h1.  1234.569100: dma_map_phys: 0000:c2:00.0 dir=TO_DEVICE dma_addr=fe980000 size=4096 phys_addr=10ec80000 attrs=",
            "          <idle>-0       [005] d..2.  1234.569110: sched_switch: prev_comm=swapper/5 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=fio next_pid=2411 next_prio=120",
            "   systemd-udevd-301     [000] .....     2.100000: add_device_to_group: IOMMU: groupID=7 device=0000:c2:00.0",
            "            bash-1234    [001] .....   100.000001: do_sys_open <-__x64_sys_openat",
            "            bash-1234    [001] .....   100.000002: map_sg: group=foo iova=1000 size=2000",
            realUnmap,
        ]
        let text = lines.joined(separator: "\n")
        let log = try parse(text)
        #expect(log.events.map(\.line) == [1, 8])
        #expect(log.otherEvents == 6)
        #expect(log.skippedLines == 6)
        expectAccounted(log, text)
    }

    @Test func nonEventTextIsSkipped() throws {
        let lines = [
            "##### CPU 3 buffer started ####",
            realMap,
            "",
            "   ",
            "some text a user pasted in the middle",
            "CPU:5 [LOST 42 EVENTS]",
            "# comment",
            realUnmap,
        ]
        let text = lines.joined(separator: "\n") + "\n"
        let log = try parse(text)
        #expect(log.events.map(\.line) == [2, 8])
        #expect(log.skippedLines == 6)
        #expect(log.otherEvents == 0)
        expectAccounted(log, text)
    }

    @Test func crlfLineEnds() throws {
        let text = (kernelHeader.split(separator: "\n").map(String.init) + kernelLines).joined(separator: "\r\n") + "\r\n"
        let log = try parse(text)
        #expect(log.events.map(\.call) == syntheticCalls)
        #expect(log.events.map(\.timestamp).last == "1234.569300")
        #expect(log.skippedLines == 12)
        #expect(log.warnings.isEmpty)
    }

    @Test func emptyInput() throws {
        let log = try parse("")
        #expect(log.events.isEmpty)
        #expect(log.skippedLines == 0)
        #expect(log.otherEvents == 0)
    }

    // MARK: Errors

    @Test func truncatedLine() {
        let line = mapLine("iova=0x00000000fffff000 - 0x0000000100000000 paddr=")
        expectError(realMap + "\n" + line, line: 2, column: line.count + 1, "paddr is not a 0x hex number")
        let cut = mapLine("iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000")
        expectError(cut, line: 1, column: cut.count + 1, "expected `size=` but found the end of the line")
    }

    @Test func truncatedBeforeIOMMU() {
        let line = "   kworker/u16:2-87      [003] .....  1234.567890: map"
        expectError(line, line: 1, column: line.count + 1, "line ends before `IOMMU:`")
        let partial = "   kworker/u16:2-87      [003] .....  1234.567890: unmap: IOM"
        expectError(partial, line: 1, column: column(of: "IOM", in: partial), "unmap: line ends before `IOMMU:`")
    }

    @Test func lineNotInLayout() {
        let line = "  1234.567890: map: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000 size=4096"
        expectError(realMap + "\n\n" + line, line: 3, column: 3, "not in ftrace layout")
        let bare = "map: IOMMU: iova=0x00000000fffff000 paddr=0x0000000894a1c000 size=4096"
        expectError(bare, line: 1, column: 1, "not in ftrace layout")
    }

    @Test func missingField() {
        let line = mapLine("iova=0x00000000fffff000 - 0x0000000100000000 size=4096")
        expectError(line, line: 1, column: column(of: "size=", in: line), "map: expected `paddr=` but found `size=4096`")
        let unmap = unmapLine("iova=0x00000000fffff000 - 0x0000000100000000 size=4096")
        expectError(unmap, line: 1, column: unmap.count + 1, "unmap: expected `unmapped_size=`")
    }

    @Test func nonHexIova() {
        let line = mapLine("iova=0x00000000fffzf000 - 0x0000000100000000 paddr=0x0000000894a1c000 size=4096")
        expectError(line, line: 1, column: column(of: "0x", in: line), "iova is not a 0x hex number: `0x00000000fffzf000`")
        let noPrefix = unmapLine("iova=00000000fffff000 size=4096 unmapped_size=4096")
        expectError(noPrefix, line: 1, column: column(of: "0000", in: noPrefix), "iova is not a 0x hex number")
        let wide = unmapLine("iova=0x100000000000000000 size=4096 unmapped_size=4096")
        expectError(wide, line: 1, column: column(of: "0x", in: wide), "iova does not fit in 64 bits")
    }

    @Test func fieldsInTheWrongOrder() {
        let line = mapLine("size=4096 iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000")
        expectError(line, line: 1, column: column(of: "size=", in: line), "expected `iova=` but found `size=4096`")
        let swapped = unmapLine("iova=0x00000000fffff000 unmapped_size=4096 size=4096")
        expectError(swapped, line: 1, column: column(of: "unmapped_size=", in: swapped), "expected `size=`")
    }

    @Test func nonDecimalSize() {
        let line = mapLine("iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000894a1c000 size=0x1000")
        expectError(line, line: 1, column: column(of: "0x1000", in: line), "size is not a decimal number: `0x1000`")
        let unmap = unmapLine("iova=0x00000000fffff000 size=4096 unmapped_size=4K")
        expectError(unmap, line: 1, column: column(of: "4K", in: unmap), "unmapped_size is not a decimal number")
    }

    @Test func trailingText() {
        let line = mapLine("iova=0x00000000fffff000 paddr=0x0000000894a1c000 size=4096 prot=rw")
        expectError(line, line: 1, column: column(of: "prot=", in: line), "unexpected `prot=rw`")
    }

    @Test func mapWithSizeZero() {
        let line = mapLine("iova=0x00000000fffff000 - 0x00000000fffff000 paddr=0x0000000894a1c000 size=0")
        expectError(line, line: 1, column: column(of: "size=", in: line), "map with size 0")
        let old = mapLine("iova=0x00000000fffff000 paddr=0x0000000894a1c000 size=0")
        expectError(old, line: 1, column: column(of: "size=", in: old), "map with size 0")
    }

    @Test func unmapWithSizeZeroIsAccepted() throws {
        let log = try parse(unmapLine("iova=0x00000000fffff000 - 0x00000000fffff000 size=0 unmapped_size=0"))
        #expect(log.events.map(\.call) == [Call(kind: .iommuUnmap, iova: 0xffff_f000, size: 0)])
    }

    @Test func endBeforeStart() {
        let line = mapLine("iova=0x0000000100000000 - 0x00000000fffff000 paddr=0x0000000894a1c000 size=4096")
        expectError(line, line: 1, column: column(of: "0x", in: line, after: " - "),
                    "end 0x00000000fffff000 is before start 0x0000000100000000")
    }

    @Test func endIsNotIovaPlusSize() {
        let line = mapLine("iova=0x00000000fffff000 - 0x0000000100001000 paddr=0x0000000894a1c000 size=4096")
        expectError(line, line: 1, column: column(of: "0x", in: line, after: " - "),
                    "end 0x0000000100001000 is not iova + size 0x0000000100000000")
        let unmap = "          <idle>-0     [005] d.h1.  1234.569120: unmap:                IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 size=4096 unmapped_size=4096"
        expectError(unmap, line: 1, column: column(of: "0x", in: unmap, after: " - "),
                    "end 0x00000000ffe00000 is not iova + size 0x00000000ffc01000")
    }

    @Test func columnsCountCharactersNotBytes() {
        let line = "      é-tâche-99      [003] .....  1234.567890: map: IOMMU: iova=0x1000 paddr=0x2000 size=zero"
        let expected = line.distance(from: line.startIndex, to: line.firstRange(of: "zero")!.lowerBound) + 1
        expectError(line, line: 1, column: expected, "size is not a decimal number")
    }

    @Test func lenientModeCollectsWarnings() throws {
        let lines = [
            kernelLines[0],                                                                        // 1 ok
            mapLine("iova=0x00000000fffff000 - 0x0000000100000000 paddr="),                        // 2 truncated
            mapLine("iova=0x00000000fffff000 - 0x0000000100000000 size=4096"),                     // 3 missing paddr
            kernelLines[1],                                                                        // 4 ok
            mapLine("iova=0xnothex paddr=0x0000000894a1c000 size=4096"),                           // 5 non-hex
            mapLine("size=4096 iova=0x00000000fffff000 paddr=0x0000000894a1c000"),                 // 6 order
            unmapLine("iova=0x00000000fffff000 size=4k unmapped_size=4096"),                       // 7 non-decimal
            mapLine("iova=0x00000000fffff000 paddr=0x0000000894a1c000 size=0"),                    // 8 size 0
            mapLine("iova=0x0000000100000000 - 0x00000000fffff000 paddr=0x0 size=4096"),           // 9 end < start
            mapLine("iova=0x00000000fffff000 - 0x0000000100001000 paddr=0x0 size=4096"),           // 10 end != iova+size
            "1234.567890: unmap: IOMMU: iova=0x00000000fffff000 size=4096 unmapped_size=4096",    // 11 layout
            realFault,                                                                             // 12 other
            kernelLines[3],                                                                        // 13 ok
        ]
        let text = lines.joined(separator: "\n") + "\n"
        #expect(throws: ScriptError.self) { try parse(text) }
        let log = try parse(text, lenient: true)
        #expect(log.events.map(\.line) == [1, 4, 13])
        #expect(log.warnings.count == 9)
        #expect(log.warnings.map(\.location.line) == [2, 3] + Array(5...11))
        #expect(log.warnings.allSatisfy { $0.location.file == fileName && $0.location.column > 0 })
        #expect(log.otherEvents == 1)
        #expect(log.skippedLines == 1)
        expectAccounted(log, text)
    }

    @Test func strictModeStopsAtTheFirstError() {
        let text = [kernelLines[0], mapLine("iova=0x1000 paddr=0x2000 size=0"), mapLine("iova=zz")].joined(separator: "\n")
        do {
            _ = try parse(text)
            Issue.record("expected an error")
        } catch {
            #expect(error.location.line == 2)
            #expect(error.message.contains("map with size 0"))
            #expect(error.description.hasPrefix("t.trace:2:"))
        }
    }

    // MARK: Detection

    @Test func looksLikeFtraceAcceptsTraces() {
        #expect(FtraceParser.looksLikeFtrace(Substring(kernelHeader)))
        #expect(FtraceParser.looksLikeFtrace("cpus=12\n"))
        #expect(FtraceParser.looksLikeFtrace(Substring(realMap)))
        #expect(FtraceParser.looksLikeFtrace(Substring(traceCmdLines[4])))
        #expect(FtraceParser.looksLikeFtrace(Substring("\n\nsome preamble\r\n" + realUnmap + "\r\n")))
        // A trace_pipe capture with other events first.
        let pipe = Array(repeating: realFault, count: 150) + [qemuMap]
        #expect(FtraceParser.looksLikeFtrace(Substring(pipe.joined(separator: "\n"))))
        // A slice of a larger string.
        let whole = "garbage\n" + realMap
        #expect(FtraceParser.looksLikeFtrace(whole[whole.index(whole.startIndex, offsetBy: 8)...]))
    }

    @Test func looksLikeFtraceRejectsOtherText() {
        let script = """
            # a pgstore workload
            config stage=1 granule=4k
            iommu_map 0x100000 0x80000000 2M rw
            map 0x1000 0x2000 4K 1 rw
            unmap 0x1000 4K 1
            iommu_unmap 0x100000 2M
            tlb_sync
            dump
            """
        #expect(!FtraceParser.looksLikeFtrace(Substring(script)))
        #expect(!FtraceParser.looksLikeFtrace(""))
        #expect(!FtraceParser.looksLikeFtrace(Substring(realFault)))
        #expect(!FtraceParser.looksLikeFtrace("map: IOMMU: iova=0x1000 paddr=0x2000 size=4096"))
        // The event beyond the first 200 lines does not count.
        let late = Array(repeating: "text", count: 200) + [realMap]
        #expect(!FtraceParser.looksLikeFtrace(Substring(late.joined(separator: "\n"))))
    }

    // MARK: Volume

    @Test func manyLines() throws {
        var text = kernelHeader + "\n"
        let count = 20_000
        text.reserveCapacity(count * 140)
        for i in 0..<count {
            let iova = String(0x1000_0000 + i * 0x1000, radix: 16)
            let pad = String(repeating: "0", count: 16 - iova.count) + iova
            let end = String(0x1000_0000 + (i + 1) * 0x1000, radix: 16)
            let padEnd = String(repeating: "0", count: 16 - end.count) + end
            text += "             fio-2411    [005] .....  1234.568001: map: IOMMU: iova=0x\(pad) - 0x\(padEnd) paddr=0x0000000894a1c000 size=4096\n"
        }
        let log = try parse(text)
        #expect(log.events.count == count)
        #expect(log.events.last?.call.iova == UInt64(0x1000_0000 + (count - 1) * 0x1000))
        #expect(log.events.last?.line == 12 + count)
    }
}
