package ai.edgekit.demo.core.listen

import org.junit.Test
import kotlin.concurrent.thread
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The ring between the recorder and the detector on a real stream (16-bit PCM at 16 kHz,
 * one-second windows every 0.1 s, the bundle's settings): its windows are the ones the Python
 * detector embeds from the same audio, bit for bit, each due as soon as its last sample came;
 * a detector that falls behind loses the oldest windows, counted, never a window in the middle.
 */
class PcmRingTest {
    private val manifest = ListenData.manifest
    private val clip = manifest.clipSamples
    private val hop = Math.rint(manifest.detection.hopSeconds * manifest.sampleRate).toInt()
    private val chunk = 640 // samples per AudioRecord read: 40 ms at 16 kHz

    /** Windows due after [written] samples: complete ones (window k ends at k * hop + clip/2). */
    private fun due(written: Int): Int =
        maxOf(0, Math.floorDiv(written - (clip - clip / 2), hop) + 1)

    private fun rows(taken: Taken): List<FloatArray> =
        List(taken.count) { taken.pcm.copyOfRange(it * clip, (it + 1) * clip) }

    private fun assertPython(taken: Taken, what: String) {
        rows(taken).forEachIndexed { i, row ->
            val k = (taken.first + i).toInt()
            assertContentEquals(ListenData.window(k), row, "$what: window $k")
        }
    }

    @Test
    fun `one window per hop, as soon as it is complete, the windows Python embeds`() {
        assertEquals(16_000, clip) // one second at 16 kHz, every 0.1 s: real-time sizes
        assertEquals(1_600, hop)
        val samples = ListenData.samples
        val ring = PcmRing(clip, hop, clip + 4 * hop)
        var taken = 0
        var at = 0
        while (at < samples.size) {
            val n = minOf(chunk, samples.size - at)
            ring.write(samples, at, n)
            at += n
            while (true) {
                val t = ring.take(max = 3) ?: break
                assertEquals(0L, t.dropped)
                assertEquals(taken.toLong(), t.first)
                assertPython(t, "after $at samples")
                taken += t.count
            }
            assertEquals(due(at), taken, "windows after $at samples")
        }
        ring.end() // the last windows: centred in the stream, zeros after it
        while (true) {
            val t = ring.take(max = 3) ?: break
            assertPython(t, "at the end")
            taken += t.count
        }
        assertEquals(ListenData.windowCount, taken)
        assertTrue(ring.finished)
        assertNull(ring.take(max = 1, timeoutMillis = 1_000)) // an ended stream does not wait
    }

    @Test
    fun `a window is due on its last sample, not one sample before`() {
        val ring = PcmRing(clip, hop, clip + hop)
        ring.write(ShortArray(clip / 2 - 1)) // window 0 spans samples -clip/2 until clip/2
        assertNull(ring.take(max = 8))
        ring.write(ShortArray(1))
        assertEquals(0L, ring.take(max = 8)?.first)
        ring.write(ShortArray(hop - 1))
        assertNull(ring.take(max = 8))
        ring.write(ShortArray(1))
        val next = ring.take(max = 8)!!
        assertEquals(1L to 1, next.first to next.count)
    }

    @Test
    fun `a detector that falls behind loses the oldest windows, counted`() {
        val samples = ListenData.samples
        val capacity = clip + 10 * hop // a second of backlog
        val ring = PcmRing(clip, hop, capacity)
        for (at in samples.indices step chunk) {
            ring.write(samples, at, minOf(chunk, samples.size - at))
        }
        assertEquals(due(samples.size).toLong(), ring.pending)
        val t = ring.take(max = 100)!!
        val oldest = samples.size - capacity // the oldest sample the ring still holds
        assertTrue(t.first * hop - clip / 2 >= oldest, "window ${t.first} was overwritten")
        assertTrue((t.first - 1) * hop - clip / 2 < oldest, "window ${t.first - 1} was held")
        assertEquals(t.first, t.dropped)
        assertEquals(due(samples.size).toLong(), t.dropped + t.count)
        assertPython(t, "after the overrun")
        ring.end()
        val rest = ring.take(max = 100)!!
        assertEquals(0L, rest.dropped)
        assertPython(rest, "at the end")
        assertEquals(ListenData.windowCount.toLong(), rest.first + rest.count)
        assertEquals(t.dropped, ring.dropped)
    }

    @Test
    fun `a recorder and a detector on two threads, nothing lost while the backlog fits`() {
        val samples = ListenData.samples
        val ring = PcmRing(clip, hop, clip + ListenData.windowCount * hop) // the whole stream
        val recorder = thread(name = "recorder") {
            for (at in samples.indices step chunk) {
                ring.write(samples, at, minOf(chunk, samples.size - at))
            }
            ring.end()
        }
        var taken = 0L
        while (!ring.finished) {
            val t = ring.take(max = 4, timeoutMillis = 10_000) ?: continue
            assertEquals(taken to 0L, t.first to t.dropped)
            assertPython(t, "taken while recording")
            taken += t.count
        }
        recorder.join()
        assertEquals(ListenData.windowCount.toLong(), taken)
        assertEquals(0L, ring.dropped)
    }

    @Test
    fun `NaN is refused whole, and nothing is written after the end`() {
        val ring = PcmRing(clip = 4, hop = 2, capacity = 6)
        assertFailsWith<IllegalArgumentException> { ring.write(floatArrayOf(0.1f, Float.NaN)) }
        assertEquals(0L, ring.written)
        ring.write(floatArrayOf(0.25f, 0.5f))
        assertContentEquals(floatArrayOf(0f, 0f, 0.25f, 0.5f), ring.take(max = 1)!!.pcm)
        ring.end()
        assertFailsWith<IllegalStateException> { ring.write(ShortArray(1)) }
    }
}
