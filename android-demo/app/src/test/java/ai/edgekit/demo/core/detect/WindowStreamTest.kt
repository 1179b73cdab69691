package ai.edgekit.demo.core.detect

import org.junit.Test
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** The windows of a stream, against their definition: window k is `clip` samples centred on
 * sample `k * hop` of the stream padded with zeros, for every k whose centre is in the stream. */
class WindowStreamTest {
    private fun expected(stream: FloatArray, clip: Int, hop: Int): List<FloatArray> {
        val count = (stream.size + hop - 1) / hop
        return List(count) { k ->
            val start = k * hop - clip / 2
            FloatArray(clip) { i -> stream.getOrElse(start + i) { 0f } }
        }
    }

    private fun windows(groups: List<Windows>, clip: Int): List<FloatArray> =
        groups.flatMap { g -> List(g.count) { g.pcm.copyOfRange(it * clip, (it + 1) * clip) } }

    @Test
    fun `windows are the same whatever the chunks, in fixed groups`() {
        val random = Random(3)
        val shapes = listOf(Triple(400, 160, 3), Triple(16_000, 1600, 4), Triple(7, 7, 1))
        for ((clip, hop, batch) in shapes) {
            repeat(20) {
                val stream = FloatArray(random.nextInt(0, 12 * clip)) { random.nextFloat() - 0.5f }
                val windows = WindowStream(clip, hop, batch)
                val groups = ArrayList<Windows>()
                var at = 0
                while (at < stream.size) {
                    val n = minOf(stream.size - at, random.nextInt(1, 3 * clip))
                    groups += windows.feed(stream.copyOfRange(at, at + n))
                    assertTrue(windows.held <= clip + 2 * batch * hop, "held ${windows.held}")
                    at += n
                }
                groups += windows.flush()
                val want = expected(stream, clip, hop)
                val got = windows(groups, clip)
                assertEquals(want.size, got.size, "windows of a stream of ${stream.size}")
                want.zip(got).forEachIndexed { k, (w, g) -> assertContentEquals(w, g, "window $k") }
                groups.forEachIndexed { i, g -> assertEquals(i.toLong() * batch, g.first) }
                assertTrue(groups.dropLast(1).all { it.count == batch })
            }
        }
    }

    @Test
    fun `a group comes as soon as its last window is complete`() {
        val windows = WindowStream(clip = 10, hop = 5, batch = 2)
        // windows 0 and 1 span samples -5..4 and 0..9: both complete once 10 samples came
        assertEquals(emptyList(), windows.feed(FloatArray(9)).map { it.first })
        assertEquals(listOf(0L), windows.feed(FloatArray(1)).map { it.first })
    }

    @Test
    fun `a chunk with NaN is refused whole and the stream goes on`() {
        val windows = WindowStream(clip = 4, hop = 2, batch = 1)
        val (first) = windows.feed(floatArrayOf(1f, 2f)) // window 0: samples -2..1
        assertContentEquals(floatArrayOf(0f, 0f, 1f, 2f), first.pcm)
        assertFailsWith<IllegalArgumentException> { windows.feed(floatArrayOf(3f, Float.NaN)) }
        assertEquals(2L, windows.samples)
        val rest = windows.feed(floatArrayOf(3f, 4f)) + windows.flush()
        assertContentEquals(floatArrayOf(1f, 2f, 3f, 4f), rest.first().pcm) // window 1: 0..3
        assertEquals(0L, windows.samples) // flushed: a new stream
    }
}
