/// IOMMU protection flags as the kernel's `IOMMU_*` bits, written in scripts as
/// letters: r (READ), w (WRITE), c (CACHE), x (NOEXEC), m (MMIO), p (PRIV).
public struct Prot: OptionSet, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    // Values of include/linux/iommu.h.
    public static let read = Prot(rawValue: 1 << 0)
    public static let write = Prot(rawValue: 1 << 1)
    public static let cache = Prot(rawValue: 1 << 2)
    public static let noExec = Prot(rawValue: 1 << 3)
    public static let mmio = Prot(rawValue: 1 << 4)
    public static let priv = Prot(rawValue: 1 << 5)

    static let letters: [(Character, Prot)] = [
        ("r", .read), ("w", .write), ("c", .cache), ("x", .noExec), ("m", .mmio), ("p", .priv),
    ]

    /// Parses letters such as `rw` or `rwcx`; returns the first unknown letter on failure.
    public static func parse(_ text: Substring) -> Result<Prot, UnknownProtLetter> {
        var prot: Prot = []
        for (offset, ch) in text.enumerated() {
            guard let bit = letters.first(where: { $0.0 == ch })?.1 else {
                return .failure(UnknownProtLetter(letter: ch, offset: offset))
            }
            prot.insert(bit)
        }
        return .success(prot)
    }

    /// The letters in canonical order (`rwcxmp`), as the conformance logs print them.
    public var description: String {
        String(Prot.letters.filter { contains($0.1) }.map { $0.0 })
    }
}

/// A letter in a PROT argument that is not one of r, w, c, x, m, p.
public struct UnknownProtLetter: Error, Sendable, Equatable {
    public let letter: Character
    public let offset: Int
}
