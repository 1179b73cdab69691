package ai.edgekit.demo.core.json

import java.math.BigInteger

/**
 * A JSON value as Python's `json` module reads it: objects keep their keys' order (a key given
 * twice keeps its first place and its last value), a number is an integer when it has neither a
 * fraction nor an exponent (Python's `int`, any size) and a float otherwise, and `NaN`,
 * `Infinity` and `-Infinity` are floats. The app reads manifests, signed metadata and hub
 * replies with it: `org.json` is an Android class, absent from a plain JVM.
 */
sealed class Json {
    object Null : Json() {
        override fun toString() = "null"
    }

    data class Bool(val value: Boolean) : Json()

    /** A number as written: [isInteger] when Python reads it as an `int`. */
    class Num(val text: String, val isInteger: Boolean) : Json() {
        /** The integer, when it is one that fits a Long; null otherwise. */
        fun toLongOrNull(): Long? = if (isInteger) text.toLongOrNull() else null

        fun toBigInteger(): BigInteger? = if (isInteger) BigInteger(text) else null

        fun toDouble(): Double = when (text) {
            "NaN" -> Double.NaN
            "Infinity" -> Double.POSITIVE_INFINITY
            "-Infinity" -> Double.NEGATIVE_INFINITY
            else -> text.toDouble()
        }

        override fun equals(other: Any?) =
            other is Num && other.text == text && other.isInteger == isInteger

        override fun hashCode() = text.hashCode()

        override fun toString() = text
    }

    data class Str(val value: String) : Json()

    data class Arr(val items: List<Json>) : Json()

    data class Obj(val fields: Map<String, Json>) : Json() {
        operator fun get(key: String): Json? = fields[key]
    }

    /**
     * This value as Python's `json.dumps` writes it (non-ASCII characters escaped, numbers as
     * Python prints them): with `sort_keys` when [sortKeys], with `separators=(",", ":")` when
     * [compact]. [canonical] is the form edgekit hashes into a manifest's digest.
     */
    fun write(sortKeys: Boolean = false, compact: Boolean = false): String =
        StringBuilder().also { JsonWriter(sortKeys, compact).write(this, it) }.toString()

    fun canonical(): String = write(sortKeys = true, compact = true)

    companion object {
        /** The value [text] holds; [JsonError] says where it is not JSON. */
        fun parse(text: String): Json = JsonReader(text).document()

        fun of(value: String) = Str(value)

        fun of(value: Long) = Num(value.toString(), isInteger = true)

        fun of(value: Int) = Num(value.toString(), isInteger = true)

        fun of(value: Boolean) = Bool(value)

        /** A float; NaN and infinities are written as Python writes them. */
        fun of(value: Double): Num = when {
            value.isNaN() -> Num("NaN", false)
            value == Double.POSITIVE_INFINITY -> Num("Infinity", false)
            value == Double.NEGATIVE_INFINITY -> Num("-Infinity", false)
            else -> Num(value.toString(), false)
        }

        fun obj(vararg pairs: Pair<String, Json>) = Obj(linkedMapOf(*pairs))

        fun arr(items: List<Json>) = Arr(items)
    }
}

/** Text that is not JSON: [offset] is the character where reading stopped. */
class JsonError(message: String, val offset: Int) : Exception("$message at character $offset")

private class JsonWriter(private val sortKeys: Boolean, compact: Boolean) {
    private val comma = if (compact) "," else ", "
    private val colon = if (compact) ":" else ": "

    fun write(value: Json, out: StringBuilder) {
        when (value) {
            is Json.Null -> out.append("null")
            is Json.Bool -> out.append(if (value.value) "true" else "false")
            is Json.Num -> out.append(number(value))
            is Json.Str -> string(value.value, out)
            is Json.Arr -> {
                out.append('[')
                value.items.forEachIndexed { i, item ->
                    if (i > 0) out.append(comma)
                    write(item, out)
                }
                out.append(']')
            }
            is Json.Obj -> {
                out.append('{')
                val keys = value.fields.keys
                    .let { if (sortKeys) it.sortedWith(::byCodePoint) else it }
                keys.forEachIndexed { i, key ->
                    if (i > 0) out.append(comma)
                    string(key, out)
                    out.append(colon)
                    write(value.fields.getValue(key), out)
                }
                out.append('}')
            }
        }
    }

    private fun number(n: Json.Num): String {
        if (n.isInteger) return BigInteger(n.text).toString() // "-0" reads as 0
        val x = n.toDouble()
        return when {
            x.isNaN() -> "NaN"
            x.isInfinite() -> if (x > 0) "Infinity" else "-Infinity"
            else -> PyFloat.repr(x)
        }
    }

    /** Python orders strings by code point (UTF-16 order differs above U+FFFF). */
    private fun byCodePoint(a: String, b: String): Int {
        val x = a.codePoints().toArray()
        val y = b.codePoints().toArray()
        for (i in 0 until minOf(x.size, y.size)) if (x[i] != y[i]) return x[i].compareTo(y[i])
        return x.size.compareTo(y.size)
    }

    private fun string(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c == '\b' -> out.append("\\b")
                c == '\u000c' -> out.append("\\f")
                c < ' ' || c.code > 0x7e -> out.append("\\u%04x".format(c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }
}
