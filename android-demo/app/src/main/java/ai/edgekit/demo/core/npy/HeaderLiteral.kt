package ai.edgekit.demo.core.npy

/**
 * The Python literal of a `.npy` header, as `ast.literal_eval` reads the subset numpy writes: a
 * dict whose keys are strings and whose values are strings, `True`/`False` or tuples of
 * integers (`()`, `(3,)`, `(2, 3)`). Values come back as String, Boolean or List<Long>; any
 * other literal (a structured dtype's list, a float) raises IllegalArgumentException.
 */
internal class HeaderLiteral(private val text: String) {
    private var pos = 0

    fun dict(): Map<String, Any> {
        space()
        expect('{')
        val out = LinkedHashMap<String, Any>()
        while (true) {
            space()
            if (peek() == '}') break
            val key = string()
            space()
            expect(':')
            space()
            out[key] = value()
            space()
            if (peek() == ',') {
                pos++
            } else if (peek() != '}') {
                bad("expected ',' or '}'")
            }
        }
        pos++
        space()
        if (pos != text.length) bad("text after the dict")
        return out
    }

    private fun value(): Any = when (peek()) {
        '\'', '"' -> string()
        '(' -> tuple()
        'T' -> word("True", true)
        'F' -> word("False", false)
        else -> bad("unsupported value")
    }

    private fun tuple(): List<Long> {
        expect('(')
        val items = ArrayList<Long>()
        space()
        var commas = 0
        while (peek() != ')') {
            val start = pos
            while (peek() in '0'..'9') pos++
            if (start == pos) bad("expected an integer")
            items.add(text.substring(start, pos).toLongOrNull() ?: bad("integer too large"))
            space()
            if (peek() == ',') {
                pos++
                commas++
                space()
            } else if (peek() != ')') {
                bad("expected ',' or ')'")
            }
        }
        pos++
        if (items.size == 1 && commas == 0) bad("(n) is not a tuple: write (n,)")
        return items
    }

    private fun string(): String {
        val quote = peek()
        if (quote != '\'' && quote != '"') bad("expected a string")
        pos++
        val start = pos
        while (pos < text.length && text[pos] != quote) {
            if (text[pos] == '\\') bad("escapes are not supported")
            pos++
        }
        if (pos >= text.length) bad("unterminated string")
        return text.substring(start, pos++)
    }

    private fun <T> word(word: String, value: T): T {
        if (!text.startsWith(word, pos)) bad("unsupported value")
        pos += word.length
        return value
    }

    private fun space() {
        while (pos < text.length && text[pos] in " \t\n\r") pos++
    }

    private fun expect(c: Char) {
        if (peek() != c) bad("expected '$c'")
        pos++
    }

    private fun peek(): Char = if (pos < text.length) text[pos] else '\u0000'

    private fun bad(why: String): Nothing =
        throw IllegalArgumentException("$why at character $pos of the header")
}
