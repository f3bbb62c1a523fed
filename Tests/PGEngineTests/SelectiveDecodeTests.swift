import Testing
@testable import PGEngine
import PGSources

/// Decoding only some words of a checkpoint's table memory
/// (WordSelection.swift): the selected words read exactly as in the whole
/// decode, every other word stays as it was, and everything that is not
/// table memory is decoded whole, in every checkpoint format.
@Suite("selective checkpoint decode")
struct SelectiveDecodeTests {
    /// A seeded selection of ranges over `words` words, some a single word, some long.
    static func randomSelection(_ words: Int, _ rng: inout SplitMix64) -> WordSelection {
        var ranges: [Range<Int>] = []
        for _ in 0..<Int(rng.next() % 12) {
            let lo = Int(rng.next() % UInt64(max(words, 1)))
            let length = rng.next() % 3 == 0 ? 1 : Int(rng.next() % 700)
            ranges.append(lo..<min(words, lo + length))
        }
        return WordSelection(ranges)
    }

    /// `full` with only `selection`'s words of table memory kept, the others 0.
    static func masked(_ full: EngineState, _ selection: WordSelection) -> EngineState {
        var s = full
        s.cpu = [UInt64](repeating: 0, count: full.cpu.count)
        s.memory = full.memory.isEmpty ? [] : [UInt64](repeating: 0, count: full.memory.count)
        for r in selection.intersection(with: 0..<full.cpu.count) {
            s.cpu.replaceSubrange(r, with: full.cpu[r])
            if !s.memory.isEmpty { s.memory.replaceSubrange(r, with: full.memory[r]) }
        }
        return s
    }

    /// A churn run's states (allocations, frees, dirty words) and a map_sg's, every few calls.
    static func states(_ strategy: Strategy, coherent: Bool) throws -> [EngineState] {
        var config = PageTableConfig.default
        config.coherentWalk = coherent
        let e = try IOPageTable(config: config, strategy: strategy, sink: NullSink())
        var states = [e.captureState()]
        for (i, c) in ChurnWorkload(operations: 400, seed: 77, geometry: e.geometry).enumerated() {
            e.perform(c)
            if i == 150 { e.perform(ScatterGatherWorkload(pages: 3_000, placement: .random, seed: 5, iova: 0x7_0000_0000).call) }
            if i % 37 == 36 { states.append(e.captureState()) }
        }
        return states
    }

    @Test("a chain of whole state and deltas, decoded with seeded selections, gives the whole decode's selected words and zero elsewhere",
          arguments: [(Strategy.eager, false), (.deferred, false), (.batchedSG, false), (.eager, true)])
    func chains(_ strategy: Strategy, _ coherent: Bool) throws {
        let states = try Self.states(strategy, coherent: coherent)
        #expect(states.count > 8)
        var rng = SplitMix64(seed: 1234)
        var selectedWords = 0
        for chained in [false, true] {
            let whole = chained ? StateCodecFormatTests.chainedFull(states[0]) : StateCodec.encode(states[0])
            let deltas = (1..<states.count).map { i in
                chained ? StateCodecFormatTests.chainedDelta(states[i], since: states[i - 1]) : StateCodec.encodeDelta(states[i], since: states[i - 1])
            }
            let last = try #require(states.last)
            let most = states.map(\.cpu.count).max() ?? 0
            for round in 0..<6 {
                let selection = round == 0 ? WordSelection.none : Self.randomSelection(last.cpu.count, &rng)
                selectedWords += selection.count ?? 0
                // Nothing selected needs no arrays at all.
                var s = EngineState.empty
                if round > 0 { s.makeTableMemory(words: most, capacity: most, memory: !last.memory.isEmpty) }
                var words = try StateCodec.decode(whole, selecting: selection, into: &s)
                for d in deltas { words = try StateCodec.applyDelta(d, into: &s, selecting: selection) }
                #expect(words == last.cpu.count)
                if round == 0 {
                    #expect(s.cpu.isEmpty && s.memory.isEmpty)
                    s.cpu = last.cpu
                    s.memory = last.memory
                    #expect(s == last, "everything but table memory, chained \(chained)")
                } else {
                    s.resizeTableMemory(words: words)
                    #expect(s == Self.masked(last, selection), "\(selection), chained \(chained)")
                }
            }
        }
        #expect(selectedWords > 1_000)
    }

    @Test("the selection's ranges merge, intersect and answer ascending queries as a set of words would")
    func selectionAsSet() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<50 {
            let s = Self.randomSelection(5_000, &rng)
            var set = Set<Int>()
            for r in s.ranges ?? [] { set.formUnion(r) }
            #expect(s.count == set.count)
            let lo = Int(rng.next() % 5_000)
            let probe = lo..<min(5_000, lo + Int(rng.next() % 300))
            #expect(Set(s.intersection(with: probe).flatMap { $0 }) == set.intersection(probe))
            var cursor = WordSelection.Cursor(s)
            for i in stride(from: 0, to: 5_000, by: 7) { #expect(cursor.contains(i) == set.contains(i)) }
        }
        #expect(WordSelection([5..<9, 0..<3, 3..<5, 20..<20]).ranges == [0..<9])
        #expect(WordSelection.all.intersection(with: 4..<8) == [4..<8] && WordSelection.none.intersection(with: 4..<8).isEmpty)
    }

    @Test("a selection needing more table memory than the arrays hold is an error, not a trap")
    func tooSmall() throws {
        let states = try Self.states(.eager, coherent: false)
        let last = try #require(states.last)
        var s = EngineState.empty
        s.makeTableMemory(words: 16, capacity: 16, memory: true)
        #expect(throws: StateCodec.DecodeError.self) {
            try StateCodec.decode(StateCodec.encode(last), selecting: WordSelection([0..<4]), into: &s)
        }
    }
}
