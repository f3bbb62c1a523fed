import Foundation
import Plot

/// The report's node context: XHTML-style, so the document is well-formed XML.
enum Doc {}
typealias DocNode = Node<Doc>

/// Small builders for HTML and SVG through Plot. Text nodes are escaped by
/// Plot; attribute values are escaped here, so nothing from the database can
/// become markup.
enum Markup {
    static func escapeAttribute(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func attribute(_ name: String, _ value: String) -> Attribute<Doc> {
        Attribute(name: name, value: escapeAttribute(value))
    }

    static func attr(_ name: String, _ value: String) -> DocNode {
        .attribute(attribute(name, value))
    }

    static func el(_ name: String, _ nodes: DocNode...) -> DocNode { .element(named: name, nodes: nodes) }
    static func el(_ name: String, _ nodes: [DocNode]) -> DocNode { .element(named: name, nodes: nodes) }
    static func void(_ name: String, _ attributes: [Attribute<Doc>]) -> DocNode {
        .selfClosedElement(named: name, attributes: attributes)
    }
    static func text(_ s: String) -> DocNode { .text(s) }

    static func num(_ d: Double) -> String { String(format: "%.2f", d) }

    /// An SVG element with a title (its accessible name and tooltip).
    static func svg(width: Double, height: Double, title: String, _ nodes: [DocNode]) -> DocNode {
        el("svg", [attr("xmlns", "http://www.w3.org/2000/svg"), attr("width", num(width)), attr("height", num(height)),
                   attr("viewBox", "0 0 \(num(width)) \(num(height))"), attr("role", "img"),
                   el("title", text(title))] + nodes)
    }

    static func rect(x: Double, y: Double, w: Double, h: Double, fill: String, cssClass: String? = nil, tooltip: String? = nil) -> DocNode {
        var attrs = [attribute("x", num(x)), attribute("y", num(y)), attribute("width", num(w)), attribute("height", num(h)),
                     attribute("fill", fill)]
        if let cssClass { attrs.append(attribute("class", cssClass)) }
        if let tooltip { return el("rect", attrs.map { DocNode.attribute($0) } + [el("title", text(tooltip))]) }
        return void("rect", attrs)
    }

    static func label(x: Double, y: Double, _ s: String, size: Double = 11, anchor: String = "start") -> DocNode {
        el("text", attr("x", num(x)), attr("y", num(y)), attr("font-size", num(size)), attr("text-anchor", anchor), text(s))
    }
}
