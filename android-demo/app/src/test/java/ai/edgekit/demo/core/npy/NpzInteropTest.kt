package ai.edgekit.demo.core.npy

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import java.io.File
import kotlin.test.assertEquals

/**
 * Arrays written by numpy (`np.savez`, `np.savez_compressed`, Fortran order, big-endian) read
 * here as numpy reads them; what this side writes goes to the Python side
 * (tests/android/test_kotlin_core.py), which reads it with `np.load`.
 */
class NpzInteropTest {
    @Test
    fun `numpy's archives read as numpy reads them`() {
        val expected = expected()
        for (file in listOf("arrays.npz", "arrays_deflated.npz")) {
            val arrays = Npz.read(File(Fixtures.python, file))
            assertEquals(expected.keys, arrays.keys, file)
            for ((name, array) in expected) {
                NpyTest.assertSame(array, arrays.getValue(name), "$file:$name")
            }
        }
    }

    @Test
    fun `what this side writes is for numpy to read`() {
        val arrays = Npz.read(File(Fixtures.python, "arrays.npz"))
        File(Fixtures.out, "arrays_kotlin.npz").writeBytes(Npz.write(arrays))
    }

    /** arrays.json: each array of arrays.npz as {descr, shape, values in C order}. */
    private fun expected(): Map<String, NdArray> {
        val doc = Fields(Fixtures.json("arrays.json") as Json.Obj, "arrays.json")
        return doc.keys.associateWith { name ->
            val f = doc.obj(name)
            val shape = f.longs("shape").map { it.toInt() }.toIntArray()
            val values = f.list("values")
            val n = values.size
            fun double(i: Int) = (values[i] as Json.Num).toDouble()
            fun long(i: Int) = (values[i] as Json.Num).toLongOrNull()!!
            when (val descr = f.string("descr")) {
                "<f4" -> NdArray.Float32(shape, FloatArray(n) { double(it).toFloat() })
                "<f8" -> NdArray.Float64(shape, DoubleArray(n) { double(it) })
                "<i4" -> NdArray.Int32(shape, IntArray(n) { long(it).toInt() })
                "<i8" -> NdArray.Int64(shape, LongArray(n) { long(it) })
                "|u1" -> NdArray.UInt8(shape, ByteArray(n) { long(it).toByte() })
                "|b1" -> NdArray.Bool(shape, BooleanArray(n) { (values[it] as Json.Bool).value })
                else -> {
                    val strings = Array(n) { (values[it] as Json.Str).value }
                    NdArray.Unicode(shape, strings, descr.removePrefix("<U").toInt())
                }
            }
        }
    }
}
