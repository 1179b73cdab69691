package ai.edgekit.demo.core.json

/**
 * Reads one JSON document with the grammar of Python's `json.loads` (strict mode): whitespace is
 * space, tab, CR and LF; control characters inside strings are refused; numbers follow
 * `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, plus `NaN`, `Infinity` and `-Infinity`.
 */
internal class JsonReader(private val text: String) {
    private var pos = 0

    fun document(): Json {
        skipSpace()
        val value = value(depth = 0)
        skipSpace()
        if (pos != text.length) fail("extra data after the JSON value")
        return value
    }

    private fun value(depth: Int): Json {
        if (depth > MAX_DEPTH) fail("nested deeper than $MAX_DEPTH levels")
        if (pos >= text.length) fail("expected a value, found the end")
        return when (val c = text[pos]) {
            '{' -> obj(depth)
            '[' -> arr(depth)
            '"' -> Json.Str(string())
            't' -> literal("true", Json.Bool(true))
            'f' -> literal("false", Json.Bool(false))
            'n' -> literal("null", Json.Null)
            'N' -> literal("NaN", Json.Num("NaN", false))
            'I' -> literal("Infinity", Json.Num("Infinity", false))
            else -> if (c == '-' || c in '0'..'9') number() else fail("unexpected character '$c'")
        }
    }

    private fun obj(depth: Int): Json.Obj {
        pos++ // {
        val fields = LinkedHashMap<String, Json>()
        skipSpace()
        if (peek() == '}') {
            pos++
            return Json.Obj(fields)
        }
        while (true) {
            skipSpace()
            if (peek() != '"') fail("expected a property name in double quotes")
            val key = string()
            skipSpace()
            if (peek() != ':') fail("expected ':' after a property name")
            pos++
            skipSpace()
            fields[key] = value(depth + 1) // a repeated key: its last value, first place (Python)
            skipSpace()
            when (peek()) {
                ',' -> pos++
                '}' -> {
                    pos++
                    return Json.Obj(fields)
                }
                else -> fail("expected ',' or '}' in an object")
            }
        }
    }

    private fun arr(depth: Int): Json.Arr {
        pos++ // [
        val items = ArrayList<Json>()
        skipSpace()
        if (peek() == ']') {
            pos++
            return Json.Arr(items)
        }
        while (true) {
            skipSpace()
            items.add(value(depth + 1))
            skipSpace()
            when (peek()) {
                ',' -> pos++
                ']' -> {
                    pos++
                    return Json.Arr(items)
                }
                else -> fail("expected ',' or ']' in an array")
            }
        }
    }

    private fun string(): String {
        pos++ // opening quote
        val out = StringBuilder()
        while (true) {
            if (pos >= text.length) fail("unterminated string")
            val c = text[pos++]
            when {
                c == '"' -> return out.toString()
                c == '\\' -> escape(out)
                c < ' ' -> fail("control character U+%04X in a string".format(c.code))
                else -> out.append(c)
            }
        }
    }

    private fun escape(out: StringBuilder) {
        if (pos >= text.length) fail("unterminated escape")
        when (val e = text[pos++]) {
            '"' -> out.append('"')
            '\\' -> out.append('\\')
            '/' -> out.append('/')
            'b' -> out.append('\b')
            'f' -> out.append('\u000c')
            'n' -> out.append('\n')
            'r' -> out.append('\r')
            't' -> out.append('\t')
            'u' -> {
                if (pos + 4 > text.length) fail("incomplete \\u escape")
                val hex = text.substring(pos, pos + 4)
                if (!hex.all { it in '0'..'9' || it in 'a'..'f' || it in 'A'..'F' }) {
                    fail("invalid \\u escape")
                }
                out.append(hex.toInt(16).toChar()) // a lone surrogate is kept, as Python does
                pos += 4
            }
            else -> fail("invalid escape '\\$e'")
        }
    }

    private fun number(): Json {
        val start = pos
        if (peek() == '-') {
            pos++
            if (text.startsWith("Infinity", pos)) {
                pos += "Infinity".length
                return Json.Num("-Infinity", false)
            }
        }
        when {
            peek() == '0' -> pos++
            peek() in '1'..'9' -> while (peek() in '0'..'9') pos++
            else -> fail("invalid number")
        }
        var integer = true
        if (peek() == '.' && peekAt(1) in '0'..'9') {
            integer = false
            pos++
            while (peek() in '0'..'9') pos++
        }
        if ((peek() == 'e' || peek() == 'E')) {
            val sign = if (peekAt(1) == '+' || peekAt(1) == '-') 1 else 0
            if (peekAt(1 + sign) in '0'..'9') {
                integer = false
                pos += 1 + sign
                while (peek() in '0'..'9') pos++
            }
        }
        return Json.Num(text.substring(start, pos), integer)
    }

    private fun literal(word: String, value: Json): Json {
        if (!text.startsWith(word, pos)) fail("unexpected character '${text[pos]}'")
        pos += word.length
        return value
    }

    private fun skipSpace() {
        while (pos < text.length && text[pos] in " \t\n\r") pos++
    }

    private fun peek(): Char = if (pos < text.length) text[pos] else END

    private fun peekAt(ahead: Int): Char = if (pos + ahead < text.length) text[pos + ahead] else END

    private fun fail(message: String): Nothing = throw JsonError(message, pos)

    private companion object {
        const val END = '\u0000' // never a valid character outside strings
        const val MAX_DEPTH = 512
    }
}
