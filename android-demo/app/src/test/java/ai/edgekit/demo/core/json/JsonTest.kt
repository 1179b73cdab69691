package ai.edgekit.demo.core.json

import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

class JsonTest {
    @Test
    fun `numbers are integers or floats as Python reads them`() {
        val text = """{"a": 3, "b": 3.0, "c": -0, "d": 1e2, "e": 123456789012345678901234567890}"""
        val value = Json.parse(text)
        val fields = Fields(value as Json.Obj, "doc")
        assertEquals(3L, fields.long("a"))
        assertFailsWith<JsonShapeError> { fields.long("b") } // 3.0 is a float
        assertEquals(0L, fields.long("c"))
        assertFailsWith<JsonShapeError> { fields.long("d") }
        assertEquals(100.0, fields.double("d"))
        assertTrue((value["e"] as Json.Num).isInteger) // an int of any size, as in Python
        assertEquals(null, (value["e"] as Json.Num).toLongOrNull())
    }

    @Test
    fun `NaN and the infinities are floats, true is not a number`() {
        val value = Json.parse("""[NaN, Infinity, -Infinity, true]""") as Json.Arr
        assertTrue((value.items[0] as Json.Num).toDouble().isNaN())
        assertEquals(Double.NEGATIVE_INFINITY, (value.items[2] as Json.Num).toDouble())
        val fields = Fields(Json.obj("x" to value.items[3], "y" to value.items[1]), "doc")
        assertFailsWith<JsonShapeError> { fields.long("x") }
        assertFailsWith<JsonShapeError> { fields.double("y") } // finite numbers only
    }

    @Test
    fun `a repeated key keeps its first place and its last value`() {
        val value = Json.parse("""{"a": 1, "b": 2, "a": 3}""") as Json.Obj
        assertEquals(listOf("a", "b"), value.fields.keys.toList())
        assertEquals("3", value["a"].toString())
    }

    @Test
    fun `strings decode every escape and keep lone surrogates`() {
        val text = "\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud834\\udd1e\\ud800\""
        val value = Json.parse(text) as Json.Str
        assertEquals("a\"\\/\b\u000c\n\r\té\ud834\udd1e\ud800", value.value)
    }

    @Test
    fun `what Python's json refuses is refused`() {
        for (text in listOf(
            "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "-", "1e", "'a'",
            "\"tab\there\"", "\"\\x41\"", "\"\\u12\"", "{1: 2}", "nul", "[1] [2]", "\ufeff{}",
            "--1",
        )) {
            assertFailsWith<JsonError>("accepted '$text'") { Json.parse(text) }
        }
    }

    @Test
    fun `whitespace is only space, tab, CR and LF`() {
        assertEquals(Json.Arr(emptyList()), Json.parse(" \t\r\n[ ]\n"))
        assertFailsWith<JsonError> { Json.parse("\u00a0[]") }
    }

    @Test
    fun `canonical JSON is what Python's json dumps writes`() {
        // canonical.json: documents, json.dumps(sort_keys=True, separators=(",", ":")) of each
        val cases = (Fixtures.json("canonical.json") as Json.Arr).items
        assertTrue(cases.size >= 5)
        for (case in cases) {
            val fields = Fields(case as Json.Obj, "case")
            val parsed = Json.parse(fields.string("source"))
            assertEquals(fields.string("canonical"), parsed.canonical())
            assertEquals(fields.string("default"), parsed.write())
        }
    }

    @Test
    fun `floats print as Python's repr prints them`() {
        // floats.json: [bits of a double as 16 hex digits, repr(that double)]
        val cases = (Fixtures.json("floats.json") as Json.Arr).items
        assertTrue(cases.size > 1000)
        for (case in cases) {
            val (bits, repr) = (case as Json.Arr).items.map { (it as Json.Str).value }
            val x = Double.fromBits(java.lang.Long.parseUnsignedLong(bits, 16))
            assertEquals(repr, PyFloat.repr(x), "bits $bits")
        }
    }

    @Test
    fun `fields name what is wrong`() {
        val fields = Fields.parse("""{"n": "three", "list": [1, "x"]}""", "manifest.json")
        val error = assertFailsWith<JsonShapeError> { fields.int("n") }
        assertEquals("manifest.json: 'n' must be an integer, got \"three\"", error.message)
        assertFailsWith<JsonShapeError> { fields.longs("list") }
        assertIs<JsonShapeError>(runCatching { fields.string("missing") }.exceptionOrNull())
    }
}
