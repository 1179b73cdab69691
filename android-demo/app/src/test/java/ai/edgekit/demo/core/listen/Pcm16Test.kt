package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/** 16-bit PCM read as the Python SDK reads a 16-bit file (`edgekit.audio.io.read_audio`):
 * every one of the 65536 values, written by Python to a WAV and read back by its reader. */
class Pcm16Test {
    @Test
    fun `every 16-bit value becomes the float Python's reader gives`() {
        val arrays = ListenData.arrays("listen_pcm16.npz")
        val values = (arrays.getValue("samples") as NdArray.Int32).data
        val python = (arrays.getValue("floats") as NdArray.Float32).data
        assertEquals(65_536, values.toSet().size)
        val kotlin = Pcm16.toFloat(ShortArray(values.size) { values[it].toShort() })
        for (i in values.indices) {
            assertEquals(python[i].toRawBits(), kotlin[i].toRawBits(), "sample ${values[i]}")
        }
        assertEquals(-1f, Pcm16.toFloat(shortArrayOf(Short.MIN_VALUE))[0])
    }

    @Test
    fun `a part of a buffer goes where it is asked`() {
        val target = FloatArray(4)
        Pcm16.toFloat(shortArrayOf(1, 16_384, -16_384, 7), 1, 2, target, 2)
        assertEquals(listOf(0f, 0f, 0.5f, -0.5f), target.toList())
        assertFailsWith<IllegalArgumentException> {
            Pcm16.toFloat(ShortArray(3), 2, 2, target, 0)
        }
    }
}
