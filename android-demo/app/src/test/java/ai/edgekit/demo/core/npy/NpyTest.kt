package ai.edgekit.demo.core.npy

import org.junit.Test
import java.io.ByteArrayOutputStream
import java.util.zip.ZipEntry
import java.util.zip.ZipOutputStream
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class NpyTest {
    private val arrays: Map<String, NdArray> = linkedMapOf(
        "f4" to NdArray.Float32(
            intArrayOf(2, 3),
            floatArrayOf(1f, -2.5f, 3e-8f, Float.MAX_VALUE, -0f, 7f),
        ),
        "f8" to NdArray.Float64(intArrayOf(2), doubleArrayOf(Math.PI, -1e300)),
        "i4" to NdArray.Int32(intArrayOf(3), intArrayOf(Int.MIN_VALUE, 0, Int.MAX_VALUE)),
        "i8" to NdArray.Int64(intArrayOf(1, 2), longArrayOf(Long.MIN_VALUE, 42L)),
        "u1" to NdArray.UInt8(intArrayOf(3), byteArrayOf(0, 127, -1)),
        "b1" to NdArray.Bool(intArrayOf(2), booleanArrayOf(true, false)),
        "text" to NdArray.of(listOf("yes", "", "caf\u00e9", "\ud834\udd1e clef")),
        "scalar" to NdArray.Float32(intArrayOf(), floatArrayOf(0.5f)),
        "empty" to NdArray.Int64(intArrayOf(0, 4), LongArray(0)),
    )

    @Test
    fun `every dtype survives a write and a read`() {
        val back = Npz.read(Npz.write(arrays))
        assertEquals(arrays.keys.toList(), back.keys.toList())
        for ((name, array) in arrays) assertSame(array, back.getValue(name), name)
    }

    @Test
    fun `headers are padded to 64 bytes and leave room to grow the first axis`() {
        val bytes = Npy.encode(arrays.getValue("f4"))
        val headerLength = (bytes[8].toInt() and 0xff) or ((bytes[9].toInt() and 0xff) shl 8)
        assertEquals(0, (10 + headerLength) % 64)
        val header = String(bytes, 10, headerLength, Charsets.ISO_8859_1)
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        assertTrue(header.endsWith("\n"))
    }

    @Test
    fun `strings take the width of the longest in code points`() {
        val text = arrays.getValue("text") as NdArray.Unicode
        assertEquals("<U6", text.descr) // the clef is one code point (two UTF-16 units)
        assertEquals("<U1", NdArray.of(listOf("", "")).descr)
    }

    @Test
    fun `deflated entries are read`() {
        val out = ByteArrayOutputStream()
        ZipOutputStream(out).use { zip ->
            zip.putNextEntry(ZipEntry("w.npy").apply { method = ZipEntry.DEFLATED })
            zip.write(Npy.encode(arrays.getValue("f8")))
            zip.closeEntry()
        }
        assertSame(arrays.getValue("f8"), Npz.read(out.toByteArray()).getValue("w"), "w")
    }

    @Test
    fun `a damaged archive is refused, never half read`() {
        val good = Npz.write(arrays)
        val flipped = good.copyOf() // a bit of f4.npy's header flipped
        flipped[100] = (flipped[100].toInt() xor 0x40).toByte()
        for ((what, bytes) in listOf(
            "truncated" to good.copyOf(good.size - 30),
            "cut in half" to good.copyOf(good.size / 2),
            "bit flipped" to flipped,
            "empty" to ByteArray(0),
            "not a zip" to "hello".toByteArray(),
        )) {
            assertFailsWith<NpyFormatError>(what) { Npz.read(bytes, what) }
        }
    }

    @Test
    fun `whatever the damage, reading fails with NpyFormatError or reads arrays`() {
        val good = Npz.write(arrays)
        val random = Random(7)
        repeat(3000) {
            val bad = good.copyOf(random.nextInt(good.size + 1))
            repeat(random.nextInt(4)) {
                if (bad.isNotEmpty()) bad[random.nextInt(bad.size)] = random.nextInt(256).toByte()
            }
            try {
                Npz.read(bad, "mutant $it")
            } catch (e: NpyFormatError) {
                // refused, as it must be when the damage is seen
            }
        }
    }

    @Test
    fun `a header that is not numpy's is refused with its reason`() {
        val good = Npy.encode(arrays.getValue("i4"))
        val text = String(good, Charsets.ISO_8859_1)
        for ((bad, why) in listOf(
            text.replace("'<i4'", "'<c8'") to "unsupported dtype",
            text.replace("(3,)", "(4,)") to "bytes of data",
            text.replace("'shape'", "'shapes'") to "header keys",
            text.replace("(3,)", "(3) ") to "not a tuple",
        )) {
            val bytes = bad.toByteArray(Charsets.ISO_8859_1)
            val error = assertFailsWith<NpyFormatError> { Npy.decode(bytes, "x") }
            assertTrue(why in error.message!!, "${error.message} lacks '$why'")
        }
    }

    companion object {
        fun assertSame(expected: NdArray, actual: NdArray, name: String) {
            assertEquals(expected.javaClass, actual.javaClass, name)
            assertContentEquals(expected.shape, actual.shape, name)
            assertEquals(expected.descr, actual.descr, name)
            assertEquals(values(expected), values(actual), name)
        }

        /** The values of any array as a list, floats by their bits (so -0.0 differs from 0.0). */
        private fun values(array: NdArray): List<Any> = when (array) {
            is NdArray.Float32 -> array.data.map { it.toRawBits() }
            is NdArray.Float64 -> array.data.map { it.toRawBits() }
            is NdArray.Int32 -> array.data.toList()
            is NdArray.Int64 -> array.data.toList()
            is NdArray.UInt8 -> array.data.toList()
            is NdArray.Bool -> array.data.toList()
            is NdArray.Unicode -> array.data.toList()
        }
    }
}
