public struct ShellWordsError: Error, CustomStringConvertible {
    public var description: String { "unbalanced quotes" }
}

/// Splits a command line as a POSIX shell would split words: spaces separate, single quotes keep
/// everything, double quotes keep everything but backslash escapes, a backslash escapes one character.
public func shellWords(_ line: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escape = false
    for ch in line {
        if escape {
            current.append(ch)
            escape = false
            continue
        }
        if let q = quote {
            if ch == q { quote = nil } else if ch == "\\" && q == "\"" { escape = true } else { current.append(ch) }
            continue
        }
        switch ch {
        case "'", "\"": quote = ch; inWord = true
        case "\\": escape = true; inWord = true
        case " ", "\t", "\n":
            if inWord { words.append(current); current = ""; inWord = false }
        default: current.append(ch); inWord = true
        }
    }
    if quote != nil || escape { throw ShellWordsError() }
    if inWord { words.append(current) }
    return words
}
